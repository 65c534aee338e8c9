package app

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"sotto.dev/client"
	"sotto.dev/config/groups"
	"sotto.dev/key"
)

// Groups (03): create, members and admins, leave. Each handler is one
// call on the engine's group API (client/grouplife.go); the group's
// conversation is the same one as a person's (/api/conversations/03…).

// maxGroupName is the longest group name the page may set, in bytes.
const maxGroupName = 100

func (s *Server) groupRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /api/contacts", s.withEngine(s.handleContacts))
	m.HandleFunc("POST /api/groups", s.withEngine(s.handleCreateGroup))
	m.HandleFunc("GET /api/groups/{id}", s.withGroup(s.handleGroup))
	m.HandleFunc("POST /api/groups/{id}/invite", s.withGroup(s.handleInvite))
	m.HandleFunc("POST /api/groups/{id}/remove", s.withGroup(s.handleRemove))
	m.HandleFunc("POST /api/groups/{id}/promote", s.withGroup(s.handlePromote))
	m.HandleFunc("POST /api/groups/{id}/leave", s.withGroup(s.handleLeave))
}

// withGroup parses the {id} path value as a group's (03) ID.
func (s *Server) withGroup(fn func(http.ResponseWriter, *http.Request, *client.Client, key.SessionID)) http.HandlerFunc {
	return s.withEngine(func(w http.ResponseWriter, r *http.Request, c *client.Client) {
		id, err := key.ParseSessionID(r.PathValue("id"))
		if err == nil && id.Prefix() != key.PrefixGroup {
			err = errors.New("not a group's (03) ID")
		}
		if err != nil {
			s.fail(w, errors.Join(errBadInput, err))
			return
		}
		fn(w, r, c, id)
	})
}

// parseMembers parses people's (05) Session IDs.
func parseMembers(ids []string) ([]key.SessionID, error) {
	if len(ids) == 0 {
		return nil, errors.Join(errBadInput, errors.New("no members given"))
	}
	out := make([]key.SessionID, 0, len(ids))
	for _, s := range ids {
		id, err := key.ParseSessionID(strings.TrimSpace(strings.ToLower(s)))
		if err == nil && id.Prefix() != key.PrefixStandard {
			err = errors.New("a member is a person's (05) Session ID")
		}
		if err != nil {
			return nil, errors.Join(errBadInput, err)
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

type jsonContact struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// handleContacts lists the people the user may add to a group: the
// accepted, unblocked contacts, oneself excluded.
func (s *Server) handleContacts(w http.ResponseWriter, r *http.Request, c *client.Client) {
	contacts, err := c.Store().Contacts(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	out := []jsonContact{}
	for _, ct := range contacts {
		if !ct.Approved || ct.Blocked || ct.SessionID == c.SessionID() || ct.SessionID.Prefix() != key.PrefixStandard {
			continue
		}
		out = append(out, jsonContact{ID: ct.SessionID.String(), Name: ct.Name()})
	}
	writeJSON(w, http.StatusOK, map[string]any{"contacts": out})
}

func (s *Server) handleCreateGroup(w http.ResponseWriter, r *http.Request, c *client.Client) {
	var req struct {
		Name    string   `json:"name"`
		Members []string `json:"members"`
	}
	ctx, cancel, ok := s.begin(w, r, &req)
	if !ok {
		return
	}
	defer cancel()
	name := strings.TrimSpace(req.Name)
	if name == "" || len(name) > maxGroupName {
		s.fail(w, errors.Join(errBadInput, errors.New("a group name is 1 to 100 bytes")))
		return
	}
	members, err := parseMembers(req.Members)
	if err != nil {
		s.fail(w, err)
		return
	}
	id, err := c.CreateGroup(ctx, name, members)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": id.String()})
}

type jsonMember struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Admin     bool   `json:"admin"`
	Invite    string `json:"invite"`    // "accepted", "sent", "failed", "not-sent"
	Promotion string `json:"promotion"` // "", "sent", "failed", "not-sent"
	Removing  bool   `json:"removing,omitempty"`
	Me        bool   `json:"me,omitempty"`
}

var inviteNames = map[groups.InviteStatus]string{
	groups.InviteAccepted: "accepted", groups.InviteSent: "sent", groups.InviteFailed: "failed", groups.InviteNotSent: "not-sent",
}

var promotionNames = map[groups.PromotionStatus]string{
	groups.PromotionNone: "", groups.PromotionSent: "sent", groups.PromotionFailed: "failed", groups.PromotionNotSent: "not-sent",
}

func (s *Server) handleGroup(w http.ResponseWriter, r *http.Request, c *client.Client, id key.SessionID) {
	ctx := r.Context()
	g, err := c.Group(ctx, id)
	if err != nil {
		s.fail(w, err)
		return
	}
	members := make([]jsonMember, 0, len(g.Members))
	for _, m := range g.Members {
		name := m.Name
		if ct, err := c.Store().Contact(ctx, m.ID); err == nil && ct.Name() != "" {
			name = ct.Name()
		}
		members = append(members, jsonMember{
			ID: m.ID.String(), Name: name, Admin: m.Admin, Invite: inviteNames[m.Invite],
			Promotion: promotionNames[m.Promotion], Removing: m.Removed != groups.NotRemoved, Me: m.ID == c.SessionID(),
		})
	}
	// Admins first, then by name, then by ID: the order a person reads.
	slices.SortStableFunc(members, func(a, b jsonMember) int {
		if a.Admin != b.Admin {
			if a.Admin {
				return -1
			}
			return 1
		}
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	writeJSON(w, http.StatusOK, map[string]any{
		"id": id.String(), "name": g.Name, "description": g.Description, "state": g.State.String(),
		"admin": g.Admin, "members": members,
	})
}

// membersAction runs fn on the members listed in the request.
func (s *Server) membersAction(w http.ResponseWriter, r *http.Request, c *client.Client, id key.SessionID,
	fn func(ctx context.Context, members []key.SessionID) error) {
	var req struct {
		Members []string `json:"members"`
	}
	ctx, cancel, ok := s.begin(w, r, &req)
	if !ok {
		return
	}
	defer cancel()
	members, err := parseMembers(req.Members)
	if err != nil {
		s.fail(w, err)
		return
	}
	if err := fn(ctx, members); err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (s *Server) handleInvite(w http.ResponseWriter, r *http.Request, c *client.Client, id key.SessionID) {
	s.membersAction(w, r, c, id, func(ctx context.Context, m []key.SessionID) error { return c.Invite(ctx, id, m) })
}

func (s *Server) handleRemove(w http.ResponseWriter, r *http.Request, c *client.Client, id key.SessionID) {
	s.membersAction(w, r, c, id, func(ctx context.Context, m []key.SessionID) error {
		if slices.Contains(m, c.SessionID()) {
			return errors.Join(errBadInput, errors.New("to leave the group, use Leave"))
		}
		return c.Remove(ctx, id, m)
	})
}

func (s *Server) handlePromote(w http.ResponseWriter, r *http.Request, c *client.Client, id key.SessionID) {
	s.membersAction(w, r, c, id, func(ctx context.Context, m []key.SessionID) error {
		for _, p := range m {
			if err := c.Promote(ctx, id, p); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Server) handleLeave(w http.ResponseWriter, r *http.Request, c *client.Client, id key.SessionID) {
	s.peerAction(nil, func(ctx context.Context, c *client.Client, p key.SessionID) error { return c.Leave(ctx, p) })(w, r, c, id)
}
