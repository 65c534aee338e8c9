// Package config implements Session's shared config objects, byte for byte
// compatible with libsession-util 1.2.0: the config message (a bencoded dict
// with seqno, data, lagged diffs and an optional signature), merging and
// conflict resolution, the push pipeline (compression, padding, encryption,
// the protobuf wrapper of user configs, multi-part messages) and local dumps,
// with the four user objects on top (user profile, contacts, conversation
// info, user groups).
//
// The wire formats are described in docs/config.md, which cites the
// libsession sources they were read from.
package config
