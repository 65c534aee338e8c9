// Package groups implements Session's closed groups v2 (03 groups) on top of
// the config engine, byte for byte compatible with libsession-util 1.2.0
// (spec/libsession-configs.md §4.7–§4.10, §4.12, §5).
//
// Keys is one user's view of the group's key messages (namespace 12): the
// deterministic rekey of an admin (a key per generation, encrypted once for
// the admins and once per member, padded with junk entries to a multiple of
// 75 and signed by the group), supplemental messages for members added
// without a rekey, loading messages in any order with libsession's expiry of
// old generations, dumps in libsession's format, and admin promotion. The
// same Keys encrypts and decrypts group messages (namespace 11) and makes
// and uses the subaccount grants by which members reach the group's swarm.
//
// Info (namespace 13: name, description, picture, disappearing timer,
// delete-before times, destroyed) and Members (namespace 14: each member's
// name, picture, admin flag and invite, promotion and removed status) are
// config objects of package config, signed by the group key and encrypted
// with the group's keys; members who cannot sign only verify and merge.
// Group bundles one user's Info, Members and Keys and hands Info and Members
// the new key list after every key operation, as libsession's replace_keys.
//
// Errors that libsession reports with an exception carry its text, so that
// `sotto debug libsession` answers as the reference library does; callers
// branch on the sentinel errors with errors.Is.
//
// Keys wipes the secrets it holds on Wipe. Go cannot wipe the copies the
// runtime makes (moved slices, stacks), nor the keys returned to callers.
package groups
