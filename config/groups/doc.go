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
// Errors that libsession reports with an exception carry its text, so that
// `sotto debug libsession` answers as the reference library does; callers
// branch on the sentinel errors with errors.Is.
//
// Keys wipes the secrets it holds on Wipe. Go cannot wipe the copies the
// runtime makes (moved slices, stacks), nor the keys returned to callers.
package groups
