package community

import (
	"encoding/hex"
	"errors"
	"net/url"
	"strings"
)

// SettingURL is the setting holding the server's public base URL.
const SettingURL = "url"

// ParseBaseURL checks a server's public base URL: http or https, a host,
// no query or fragment; a trailing "/" is dropped.
func ParseBaseURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", errors.New("community: a base URL is http(s)://host[:port][/path], without query or fragment")
	}
	return strings.TrimSuffix(s, "/"), nil
}

// JoinURL is a room's join URL (spec §5): BASE/TOKEN?public_key=HEX.
func JoinURL(base, token string, pk [32]byte) (string, error) {
	b, err := ParseBaseURL(base)
	if err != nil {
		return "", err
	}
	if !ValidToken(token) {
		return "", ErrBadToken
	}
	return b + "/" + token + "?public_key=" + hex.EncodeToString(pk[:]), nil
}
