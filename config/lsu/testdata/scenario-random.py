#!/usr/bin/env python3
"""Records scenario-random.json: random scenarios of the four user objects
(setters with random subsets of fields, erases, pushes, merges of saved
pushes, dumps and reloads, explains, confirmations) and the reference
library's replies, without what the replay does not compare (shrink). Run from this directory with the oracle (tests never
run it):

    ./scenario-random.py ../../../../shared/tools/lsu-oracle > scenario-random.json

Conversation info times are relative to generated_at_ms, the replay clock.
"""
import json,random,hashlib,subprocess,sys,time
oracle=sys.argv[1]
rnd=random.Random(12)
S='e772e43099a9ed57ff7a300adbe3c7fe8cc652dccd487e2aabc6743dd73226e8'
NOW=int(time.time()*1000)
def sid(i,p='05'): return p+hashlib.sha256(b'id%d'%i).hexdigest()
IDS=[sid(i) for i in range(4)]; GIDS=[sid(i,'03') for i in range(3)]
GSEED="11"*32; GPK="d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737"
PK='a03c383cf63c3c4efe67acc52112a6dd734b3a946b9545f488aaa93da7991238'
names=["","Bob","é"*51,"x"*101,"a🎂"*30,"ab\u0000c"]
def rint(): return rnd.choice([0,1,-1,2,3,5,60,1700000000,-7,2**32+3])
def rb(): return rnd.choice([True,False])
def contact():
    c={"session_id":rnd.choice(IDS)}
    for k,f in [("name",lambda:rnd.choice(names)),("nickname",lambda:rnd.choice(names)),("approved",rb),("approved_me",rb),("blocked",rb),
                ("priority",rint),("notifications",lambda:rnd.choice([0,1,2,3])),("mute_until",rint),("exp_mode",lambda:rnd.choice([0,1,2])),
                ("exp_seconds",rint),("created",rint)]:
        if rnd.random()<0.3: c[k]=f()
    if rnd.random()<0.2: c["pic_url"]=rnd.choice(["","http://x/1"]); c["pic_key"]="ab"*32
    return c
def convo():
    k=rnd.choice(["1to1","group","legacy_group","community"])
    c={"kind":k}
    if k=="1to1": c["session_id"]=rnd.choice(IDS)
    elif k=="group": c["id"]=rnd.choice(GIDS)
    elif k=="legacy_group": c["id"]=rnd.choice(IDS)
    else: c.update(base_url=rnd.choice(["https://foo.bar","http://Foo.bar:80","https://x.org:8443"]),room=rnd.choice(["Room","room","r2"]),pubkey=PK)
    if rnd.random()<0.7: c["last_read"]=NOW-rnd.choice([0,1,20,29,31,40,50])*86400000-rnd.randint(0,1000)*1000
    if rnd.random()<0.4: c["unread"]=rb()
    return c
def group():
    k=rnd.choice(["group","legacy_group","community"])
    g={"kind":k}
    if k=="group":
        g["id"]=rnd.choice(GIDS+["03"+GPK])
        if rnd.random()<0.3: g["secretkey"]=GSEED+GPK
        if rnd.random()<0.3: g["auth_data"]="cd"*100
        if rnd.random()<0.3: g["name"]=rnd.choice(names)
        if rnd.random()<0.3: g["removed_status"]=rnd.choice([0,1,2])
    elif k=="legacy_group":
        g["session_id"]=rnd.choice(IDS)
        if rnd.random()<0.3: g["name"]=rnd.choice(names)
        if rnd.random()<0.3: g["enc_pubkey"]="11"*32
        if rnd.random()<0.3: g["enc_seckey"]="22"*32
        if rnd.random()<0.3: g["disappearing_timer"]=rint()
        if rnd.random()<0.4: g["members"]={rnd.choice(IDS):rb() for _ in range(rnd.randint(1,3))}
    else:
        g.update(base_url=rnd.choice(["https://foo.bar","https://FOO.bar:443"]),room=rnd.choice(["Room","ROOM","r2"]),pubkey=PK)
    for kk,f in [("priority",rint),("joined_at",rint),("notifications",lambda:rnd.choice([0,1,2,3])),("mute_until",rint),("invited",rb)]:
        if rnd.random()<0.25: g[kk]=f()
    return g
def erase(typ):
    if typ=="contacts": return {"op":"erase_contact","session_id":rnd.choice(IDS)}
    if typ=="convo_info_volatile":
        c=convo(); c.pop("last_read",None); c.pop("unread",None); return {"op":"erase_convo","convo":c}
    g=group(); return {"op":"erase_group","group":{k:g[k] for k in g if k in("kind","id","session_id","base_url","room")}}
def setter(typ):
    if typ=="user_profile":
        return rnd.choice([{"op":"set_name","name":rnd.choice(names)},{"op":"set_name_truncated","name":rnd.choice(names)},
            {"op":"set_pic","url":rnd.choice(["","http://p/1"]),"key":"ee"*32},{"op":"set_nts_priority","priority":rint()},
            {"op":"set_nts_expiry","seconds":rint()},{"op":"set_blinded_msgreqs","value":rnd.choice([True,False,None])}])
    if typ=="contacts": return {"op":"set_contact","contact":contact()}
    if typ=="convo_info_volatile": return {"op":"set_convo","convo":convo()}
    return {"op":"set_group","group":group()}
def scenario():
    typ=rnd.choice(["user_profile","contacts","convo_info_volatile","user_groups"])
    steps=[{"op":"new","name":n,"type":typ,"seed":S} for n in "AB"]
    saved=[]; h=0
    for _ in range(rnd.randint(5,25)):
        o=rnd.choice("AB"); r=rnd.random()
        if r<0.5: st=setter(typ)
        elif r<0.6 and typ!="user_profile": st=erase(typ)
        elif r<0.8:
            h+=1; st={"op":"push","save":"p%d"%h}
            if rnd.random()<0.7: st["confirm"]="h%d%s"%(h,o)
            saved.append((st.get("confirm","u%d"%h),"p%d"%h))
        elif r<0.85:
            h+=1
            steps.append({"op":"dump","obj":o,"save":"d%d"%h})
            st={"op":"new","name":o,"type":typ,"seed":S,"dump_ref":"d%d"%h}
        elif r<0.9 and saved:
            st=rnd.choice([{"op":"current_hashes"},{"op":"explain","data_ref":rnd.choice(saved)[1],"wrapped":rb()},
                           {"op":"confirm_pushed","seqno":rnd.randint(0,4),"hash":"c%d"%rnd.randint(0,3)}])
        elif saved:
            k=rnd.sample(saved,min(len(saved),rnd.randint(1,3)))
            st={"op":"merge","messages":[{"hash":a,"data_ref":b} for a,b in k]}
        else: st={"op":"get"}
        if st["op"]!="new": st["obj"]=o
        st["may_fail"]=True
        steps.append(st)
    steps+= [{"op":"get","obj":"A"},{"op":"get","obj":"B"},{"op":"dump","obj":"A"}]
    return {"cmd":"scenario","steps":steps}

N = 40
cmds = [scenario() for _ in range(N)]
r = subprocess.run([oracle], input="".join(json.dumps(c) + "\n" for c in cmds),
                   capture_output=True, text=True, check=True)
replies = [json.loads(line) for line in r.stdout.splitlines()]


def shrink(v):
    """Drops what the replay does not compare: layers but bt, error,
    key_index and compressed; the bytes of compressed pushes."""
    if isinstance(v, list):
        return [shrink(x) for x in v]
    if not isinstance(v, dict):
        return v
    out = {k: shrink(x) for k, x in v.items() if k != "rng_draws"}
    if isinstance(v.get("layers"), dict):
        out["layers"] = {k: x for k, x in v["layers"].items() if k in ("bt", "error", "key_index", "compressed")}
        if v["layers"].get("compressed"):
            for k in ("data", "inner"):
                out.pop(k, None)
    return out


replies = [shrink(r) for r in replies]
vectors = [{"id": "scenario.random.%02d" % i, "category": c["steps"][0]["type"],
            "description": "random steps on two %s objects" % c["steps"][0]["type"],
            "calls": [{"command": c, "response": rep}]} for i, (c, rep) in enumerate(zip(cmds, replies))]
json.dump({"format": "sotto lsu vectors v1", "generated_at_ms": NOW, "vectors": vectors}, sys.stdout)
print()
