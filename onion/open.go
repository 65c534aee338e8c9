package onion

import "fmt"

// Opened is an onion frame opened by the node or server it was encrypted
// to.
type Opened struct {
	Payload []byte    // the decrypted blob
	Control []byte    // the frame's control JSON, exactly as received
	Info    LayerInfo // ephemeral key, cipher and hop number from Control
	Key     *LayerKey // the layer key; encrypts the reply
}

// Open parses frame ([len][ciphertext]{json}), reads the ephemeral key
// and cipher from the JSON and decrypts the ciphertext with kp. This is
// what a relay does with a request body and what a server destination
// does with the payload the last hop proxies (libsession OnionReqParser).
// Errors are *FrameError, *ControlError, *KeyError or wrap ErrDecrypt.
func Open(kp *KeyPair, frame []byte) (*Opened, error) {
	f, err := ParseHop(frame)
	if err != nil {
		return nil, err
	}
	info, err := ParseLayerInfo(f.Control)
	if err != nil {
		return nil, err
	}
	key, err := ServerLayerKey(info.Cipher, kp, info.EphemeralKey)
	if err != nil {
		// A low-order ephemeral key gives no usable layer: report it as
		// a layer that does not decrypt, like the storage server does.
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	pt, err := key.Open(f.Blob)
	if err != nil {
		return nil, err
	}
	return &Opened{Payload: pt, Control: f.Control, Info: info, Key: key}, nil
}
