# Generates config/lsu/testdata/pipeline-*.json with the libsession oracle
# (/work/shared/tools/lsu-oracle; run from anywhere: python3 pipeline-gen.py).
# Not used by any test. The "a bad signature" case needs a helper that seals
# content || A || a wrong signature to the account (a few lines of Go with
# nacl/box); its ephemeral key is random, so that one input changes per run.
import json, subprocess, hashlib, sys

ORACLE = '/work/shared/tools/lsu-oracle'
pub = json.load(open('/work/shared/vectors/libsession-public.json'))

def run(cmds):
    inp = ''.join(json.dumps(c) + '\n' for c in cmds)
    out = subprocess.run([ORACLE], input=inp, capture_output=True, text=True).stdout.splitlines()
    assert len(out) == len(cmds), (len(out), len(cmds))
    return [json.loads(l) for l in out]

def seed(tag):
    return hashlib.sha256(('lsu-vectors:' + tag).encode()).hexdigest()

def varint(n):
    n &= (1 << 64) - 1
    out = b''
    while True:
        b = n & 0x7f
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])

def fv(num, v):  # varint field
    return varint(num << 3) + varint(v)

def fb(num, b):  # bytes field
    return varint(num << 3 | 2) + varint(len(b)) + b

def envelope(content, typ=6, ts=1):
    e = b''
    if typ is not None: e += fv(1, typ)
    if ts is not None: e += fv(5, ts)
    if content is not None: e += fb(8, content)
    return e

def websocket(body, typ=1):
    req = fb(1, b'') + fb(2, b'') + fb(3, body) + fv(4, 0)
    m = b''
    if typ is not None: m += fv(1, typ)
    return m + fb(2, req)

def content(kind, seqno, data):
    return fb(11, fv(1, kind) + fv(2, seqno) + fb(3, data))

vectors = []

def vector(id, desc, cmds):
    resps = run(cmds)
    vectors.append({'id': id, 'category': 'config_encrypt', 'description': desc,
                    'calls': [{'command': c, 'response': r} for c, r in zip(cmds, resps)]})
    return resps

def write(name):
    global vectors
    doc = {'format': pub['format'], 'libsession': pub['libsession'],
           'generated_by': 'lsu-oracle (libsession-util 1.2.0); the pipeline helper, issue 12',
           'vector_count': len(vectors), 'vectors': vectors}
    with open('/work/wt/pipeline/config/lsu/testdata/' + name, 'w') as f:
        json.dump(doc, f, indent=1)
        f.write('\n')
    vectors = []

# ---------------------------------------------------------------- padded_size
sizes = set([0, 1, 2])
for chunk, lo, hi in ((256, 0, 5120), (1024, 5120, 20480), (2048, 20480, 40960), (5120, 40960, 163840)):
    for m in range(lo, hi + 1, chunk):
        for s2 in (m - 1, m, m + 1):
            if s2 - 40 >= 0:
                sizes.add(s2 - 40)
vector('pipeline.padded_size.boundaries',
       'padded_size(s, 40) on both sides of every multiple of the chunk (256 below 5120, 1024 below 20480, 2048 below 40960, 5120 above) up to 163840',
       [{'cmd': 'padded_size', 'size': s} for s in sorted(sizes)])
vector('pipeline.padded_size.overheads', 'padded_size with other overheads (0, 1, 16, 100) around the thresholds',
       [{'cmd': 'padded_size', 'size': s, 'overhead': o} for o in (0, 1, 16, 100)
        for s in (0, 1, 255, 256, 257, 5119, 5120, 5121, 20479, 20480, 20481, 40959, 40960, 40961, 76800)])
vector('pipeline.padded_size.errors', 'padded_size without size, or with a string size',
       [{'cmd': 'padded_size'}, {'cmd': 'padded_size', 'overhead': 40}, {'cmd': 'padded_size', 'size': '100'}])
write('pipeline-padded-size.json')

# ---------------------------------------------------------------- encrypt/decrypt
key = seed('pipeline-key')
key2 = seed('pipeline-key-2')
doms = ['x', 'UserProfile', 'Contacts', 'ConvoInfoVolatile', 'UserGroups', 'groups::Info', 'groups::Members',
        'abcdefghijklmnopqrstuvwx']
msgs = ['', '00', '64313a23693065313a266465313a3c6c65313a3d646565', '00' * 216 + '64656565',
        bytes(range(256)).hex()]
cmds = [{'cmd': 'config_encrypt', 'plaintext': m, 'key': key, 'domain': d} for d in doms for m in msgs]
r = vector('pipeline.encrypt.domains',
           'config_encrypt of empty, one-byte, bt, padded and 256-byte plaintexts under every config domain and 1- and 24-byte domains',
           cmds)
cts = [x['ciphertext'] for x in r]
vector('pipeline.decrypt.domains', 'config_decrypt of every ciphertext of pipeline.encrypt.domains',
       [{'cmd': 'config_decrypt', 'ciphertext': ct, 'key': key, 'domain': c['domain']} for ct, c in zip(cts, cmds)])
big = (hashlib.sha256(b'big').digest() * 2400)[:76760]
r = vector('pipeline.encrypt.large', 'config_encrypt of 76,760 bytes (the largest padded single message)',
           [{'cmd': 'config_encrypt', 'plaintext': big.hex(), 'key': key, 'domain': 'Contacts'}])
vector('pipeline.decrypt.large', 'config_decrypt of pipeline.encrypt.large',
       [{'cmd': 'config_decrypt', 'ciphertext': r[0]['ciphertext'], 'key': key, 'domain': 'Contacts'}])
vector('pipeline.encrypt.text', 'config_encrypt with plaintext_text (UTF-8)',
       [{'cmd': 'config_encrypt', 'plaintext_text': 'héllo wörld ✓', 'key': key, 'domain': 'UserProfile'}])
ct = cts[2 + len(msgs) * 2]  # bt message, Contacts
ctb = bytes.fromhex(ct)
def flip(b, i):
    b = bytearray(b); b[i] ^= 1; return bytes(b).hex()
vector('pipeline.encrypt.errors',
       'config_encrypt with a 0-byte and a 25-byte domain, a 31- and 33-byte key, and missing inputs',
       [{'cmd': 'config_encrypt', 'plaintext': '00', 'key': key, 'domain': ''},
        {'cmd': 'config_encrypt', 'plaintext': '00', 'key': key, 'domain': 'abcdefghijklmnopqrstuvwxy'},
        {'cmd': 'config_encrypt', 'plaintext': '00', 'key': key[:62], 'domain': 'x'},
        {'cmd': 'config_encrypt', 'plaintext': '00', 'key': key + '00', 'domain': 'x'},
        {'cmd': 'config_encrypt', 'plaintext': '00', 'key': key[:62], 'domain': ''},
        {'cmd': 'config_encrypt', 'key': key, 'domain': 'x'},
        {'cmd': 'config_encrypt', 'plaintext': '00', 'domain': 'x'},
        {'cmd': 'config_encrypt', 'plaintext': '00', 'key': key},
        {'cmd': 'config_encrypt', 'plaintext': '0g', 'key': key, 'domain': 'x'},
        {'cmd': 'config_encrypt', 'plaintext': 5, 'key': key, 'domain': 'x'},
        {'cmd': 'config_encrypt', 'plaintext': '00', 'key': key, 'domain': 5}])
vector('pipeline.decrypt.errors',
       'config_decrypt failures: wrong key, wrong domain, each of ciphertext/tag/nonce tampered, truncated, 39 and 0 bytes, 40 bytes of zeros, a bad domain or key size',
       [{'cmd': 'config_decrypt', 'ciphertext': ct, 'key': key2, 'domain': 'Contacts'},
        {'cmd': 'config_decrypt', 'ciphertext': ct, 'key': key, 'domain': 'UserProfile'},
        {'cmd': 'config_decrypt', 'ciphertext': flip(ctb, 0), 'key': key, 'domain': 'Contacts'},
        {'cmd': 'config_decrypt', 'ciphertext': flip(ctb, len(ctb) - 30), 'key': key, 'domain': 'Contacts'},
        {'cmd': 'config_decrypt', 'ciphertext': flip(ctb, len(ctb) - 1), 'key': key, 'domain': 'Contacts'},
        {'cmd': 'config_decrypt', 'ciphertext': ct[:-2], 'key': key, 'domain': 'Contacts'},
        {'cmd': 'config_decrypt', 'ciphertext': '00' * 39, 'key': key, 'domain': 'Contacts'},
        {'cmd': 'config_decrypt', 'ciphertext': '', 'key': key, 'domain': 'Contacts'},
        {'cmd': 'config_decrypt', 'ciphertext': '00' * 40, 'key': key, 'domain': 'Contacts'},
        {'cmd': 'config_decrypt', 'ciphertext': ct, 'key': key, 'domain': ''},
        {'cmd': 'config_decrypt', 'ciphertext': ct, 'key': key, 'domain': 'abcdefghijklmnopqrstuvwxy'},
        {'cmd': 'config_decrypt', 'ciphertext': ct, 'key': key[:62], 'domain': 'Contacts'},
        {'cmd': 'config_decrypt', 'ciphertext': '00' * 39, 'key': key[:62], 'domain': ''},
        {'cmd': 'config_decrypt', 'key': key, 'domain': 'x'},
        {'cmd': 'config_decrypt', 'ciphertext': ct, 'domain': 'x'},
        {'cmd': 'config_decrypt', 'ciphertext': ct, 'key': key}])
write('pipeline-encrypt.json')

# ---------------------------------------------------------------- protos
s = seed('pipeline-account')
other = seed('pipeline-other')
kp = run([{'cmd': 'keypair', 'seed': s}, {'cmd': 'keypair', 'seed': other}])
sid, sk64 = kp[0]['session_id'], kp[0]['ed25519_sk']
inner = cts[2 + len(msgs) * 1]  # a bt message under UserProfile
cmds = []
for ns in (2, 3, 4, 5):
    for data, seq in ((inner, 1), ('', 0), (big[:30000 if ns == 3 else 3000].hex(), 123456789), ('00', -5), ('ff' * 100, 2**62)):
        cmds.append({'cmd': 'protos_wrap', 'seed': s, 'data': data, 'seqno': seq, 'namespace': ns})
r = vector('pipeline.protos.wrap_all',
           'protos_wrap in every user namespace (2-5) of a config ciphertext, empty data, 3,000 bytes (30,000 for contacts), negative and large seqnos',
           cmds)
wrapped = {c['namespace']: x['wrapped'] for c, x in zip(cmds, r) if c['data'] == inner}
vector('pipeline.protos.unwrap_all', 'protos_unwrap of every wrap of pipeline.protos.wrap_all, in its own namespace',
       [{'cmd': 'protos_unwrap', 'seed': s, 'data': x['wrapped'], 'namespace': c['namespace']} for c, x in zip(cmds, r)])
vector('pipeline.protos.wrap_sk64', 'protos_wrap and protos_unwrap with the 64-byte secret key instead of the seed (same bytes)',
       [{'cmd': 'protos_wrap', 'seed': sk64, 'data': inner, 'seqno': 1, 'namespace': 2},
        {'cmd': 'protos_unwrap', 'seed': sk64, 'data': wrapped[2], 'namespace': 2}])
vector('pipeline.protos.wrong_namespace', 'protos_unwrap of each namespace\'s wrapper in every other namespace, and in 0, 1, 6',
       [{'cmd': 'protos_unwrap', 'seed': s, 'data': wrapped[a], 'namespace': b}
        for a in (2, 3, 4, 5) for b in (0, 1, 2, 3, 4, 5, 6) if a != b])
r2 = run([{'cmd': 'protos_wrap', 'seed': s, 'data': wrapped[3], 'seqno': 1, 'namespace': 3}])
vector('pipeline.protos.double', 'a double-wrapped message (an old client bug): one unwrap gives the inner wrapper, a second the ciphertext',
       [{'cmd': 'protos_wrap', 'seed': s, 'data': wrapped[3], 'seqno': 1, 'namespace': 3},
        {'cmd': 'protos_unwrap', 'seed': s, 'data': r2[0]['wrapped'], 'namespace': 3},
        {'cmd': 'protos_unwrap', 'seed': s, 'data': wrapped[3], 'namespace': 3}])
vector('pipeline.protos.wrap_errors', 'protos_wrap with namespaces 0, 1, 6, 12, -1, a bad seed, missing inputs',
       [{'cmd': 'protos_wrap', 'seed': s, 'data': inner, 'seqno': 1, 'namespace': n} for n in (0, 1, 6, 12, -1)] +
       [{'cmd': 'protos_wrap', 'seed': s[:62], 'data': inner, 'seqno': 1, 'namespace': 2},
        {'cmd': 'protos_wrap', 'data': inner, 'seqno': 1, 'namespace': 2},
        {'cmd': 'protos_wrap', 'seed': s, 'seqno': 1, 'namespace': 2},
        {'cmd': 'protos_wrap', 'seed': s, 'data': inner, 'namespace': 2},
        {'cmd': 'protos_wrap', 'seed': s, 'data': inner, 'seqno': 1}])

# Hand-made wrappers around content sealed with encrypt_for_recipient_deterministic.
def sealed(msg, sender=s):
    return bytes.fromhex(run([{'cmd': 'encrypt_for_recipient_deterministic', 'seed': sender, 'recipient': sid,
                               'message': msg.hex()}])[0]['ciphertext'])
good = content(1, 1, bytes.fromhex(inner))
cases = [
    ('valid, with zeros after the 0x80', websocket(envelope(sealed(good + b'\x80\x00\x00\x00')))),
    ('no 0x80', websocket(envelope(sealed(good + b'\x01')))),
    ('zeros but no 0x80', websocket(envelope(sealed(good + b'\x00\x00')))),
    ('all zeros', websocket(envelope(sealed(b'\x00\x00\x00')))),
    ('empty plaintext', websocket(envelope(sealed(b'')))),
    ('content not a protobuf', websocket(envelope(sealed(b'\xff\xff\xff\x80')))),
    ('content without sharedConfigMessage', websocket(envelope(sealed(b'\x80')))),
    ('sharedConfigMessage without data', websocket(envelope(sealed(fb(11, fv(1, 1) + fv(2, 1)) + b'\x80')))),
    ('sharedConfigMessage with an unknown kind', websocket(envelope(sealed(content(9, 1, b'ab') + b'\x80')))),
    ('sealed by another account', websocket(envelope(sealed(good + b'\x80', other)))),
    ('a bad signature', websocket(envelope(bytes.fromhex(subprocess.run(['/tmp/pl/craft', s, (good + b'\x80').hex()], capture_output=True, text=True).stdout.strip())))),
    ('a RESPONSE', websocket(envelope(sealed(good + b'\x80')), typ=2)),
    ('no type', websocket(envelope(sealed(good + b'\x80')), typ=None)),
    ('envelope without timestamp', websocket(envelope(sealed(good + b'\x80'), ts=None))),
    ('envelope without type', websocket(envelope(sealed(good + b'\x80'), typ=None))),
    ('envelope without content', websocket(envelope(None))),
    ('envelope of type 7', websocket(envelope(sealed(good + b'\x80'), typ=7))),
    ('envelope of unknown type 9', websocket(envelope(sealed(good + b'\x80'), typ=9))),
    ('websocket of unknown type 5', websocket(envelope(sealed(good + b'\x80')), typ=5)),
    ('content of 111 bytes', websocket(envelope(b'\x01' * 111))),
    ('content tampered', websocket(envelope(bytes.fromhex(flip(sealed(good + b'\x80'), 40))))),
    ('garbage', b'\xff\xff'),
    ('empty', b''),
    ('a bare config ciphertext', bytes.fromhex(inner)),
]
vector('pipeline.protos.unwrap_errors',
       'protos_unwrap of hand-made wrappers: ' + '; '.join(c[0] for c in cases),
       [{'cmd': 'protos_unwrap', 'seed': s, 'data': d.hex(), 'namespace': 2} for _, d in cases] +
       [{'cmd': 'protos_unwrap', 'seed': other, 'data': wrapped[2], 'namespace': 2},
        {'cmd': 'protos_unwrap', 'seed': s[:62], 'data': wrapped[2], 'namespace': 2},
        {'cmd': 'protos_unwrap', 'data': wrapped[2], 'namespace': 2},
        {'cmd': 'protos_unwrap', 'seed': s, 'namespace': 2},
        {'cmd': 'protos_unwrap', 'seed': s, 'data': wrapped[2]}])
write('pipeline-protos.json')
