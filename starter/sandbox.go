package main

import (
	"context"
	"errors"
	"io"
)

// sandboxCommand runs `cutover sandbox up|down`.
func sandboxCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("not implemented: the sandbox command is being built (issue 3)")
}
