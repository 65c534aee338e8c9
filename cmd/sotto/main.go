// Command sotto is the Sotto messenger client.
package main

import (
	"os"

	"sotto.dev/client/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.OSEnv()))
}
