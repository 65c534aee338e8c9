package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"sotto.dev/client"
)

// receiptsCmd is `sotto receipts`: shows, and with flags sets, whether
// read and delivery receipts are sent, and the delay they leave after.
func (a *app) receiptsCmd(f *chatFlags) *cobra.Command {
	var read, delivery string
	cmd := &cobra.Command{
		Use:   "receipts [--read on|off] [--delivery on|off]",
		Short: "Show or set whether read and delivery receipts are sent",
		Long: `Show or set whether this device sends read receipts (when you read a
conversation) and delivery receipts (when a message arrives); both are on
for a new account.

Receipts, and the copy of each message you send that your other devices
read, leave after a random delay, 2 s to 10 s by default, so that the
network cannot match them with the message by time. $SOTTO_DELAY sets it:
"MIN-MAX" (e.g. 2s-10s), one duration, or "off". A delayed item that is
not sent before sotto exits waits in the outbox and leaves with the next
command that connects.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var setRead, setDelivery *bool
			for _, fl := range []struct {
				name string
				val  string
				dst  **bool
			}{{"read", read, &setRead}, {"delivery", delivery, &setDelivery}} {
				if !cmd.Flags().Changed(fl.name) {
					continue
				}
				switch fl.val {
				case "on":
					*fl.dst = new(bool)
					**fl.dst = true
				case "off":
					*fl.dst = new(bool)
				default:
					return userErr("write on or off", "--%s %q", fl.name, fl.val)
				}
			}
			s, err := a.openSession(offline)
			if err != nil {
				return err
			}
			defer s.close()
			ctx, cancel := a.ctx(f)
			defer cancel()
			return a.receipts(ctx, s, setRead, setDelivery)
		},
	}
	cmd.Flags().StringVar(&read, "read", "", "send read receipts: on or off")
	cmd.Flags().StringVar(&delivery, "delivery", "", "send delivery receipts: on or off")
	return cmd
}

func (a *app) receipts(ctx context.Context, s *session, setRead, setDelivery *bool) error {
	r, d, err := s.c.Receipts(ctx)
	if err != nil {
		return &Error{Msg: "cannot read the receipt settings", Err: err}
	}
	if setRead != nil || setDelivery != nil {
		if setRead != nil {
			r = *setRead
		}
		if setDelivery != nil {
			d = *setDelivery
		}
		if err := s.c.SetReceipts(ctx, r, d); err != nil {
			return &Error{Msg: "cannot save the receipt settings", Err: err}
		}
	}
	lo, hi := s.c.Delay()
	delay := "off"
	if hi > 0 {
		delay = fmt.Sprintf("%v-%v", lo, hi)
	}
	if a.json {
		return a.printJSON(struct {
			Read      bool    `json:"read"`
			Delivery  bool    `json:"delivery"`
			DelayMinS float64 `json:"delay_min_s"`
			DelayMaxS float64 `json:"delay_max_s"`
		}{r, d, lo.Seconds(), hi.Seconds()})
	}
	onOff := map[bool]string{true: "on", false: "off"}
	w := a.env.Stdout
	fmt.Fprintf(w, "read receipts: %s\n", onOff[r])
	fmt.Fprintf(w, "delivery receipts: %s\n", onOff[d])
	fmt.Fprintf(w, "delay: %s\n", delay)
	return nil
}

// delayConfig sets cfg's receipt and sync-copy delay from $SOTTO_DELAY.
func (a *app) delayConfig(cfg *client.Config) error {
	v := a.env.Getenv("SOTTO_DELAY")
	if v == "" {
		return nil
	}
	lo, hi, err := client.ParseDelay(v)
	if err != nil {
		return userErr(`write SOTTO_DELAY as MIN-MAX (e.g. 2s-10s), one duration, or off`, "SOTTO_DELAY: %v", err)
	}
	cfg.DelayMin, cfg.DelayMax = lo, hi
	return nil
}
