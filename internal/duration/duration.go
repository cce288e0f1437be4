// Package duration holds Duration, the time.Duration that reads and writes
// as a Go duration string ("90s", "15m", "24h"). It is the wire type of
// every duration in the migration spec (spec.Duration is an alias of it) and
// in the activity inputs, so a duration reads the same wherever it is
// recorded, and neither side imports the other for it.
package duration

import (
	"encoding/json"
	"fmt"
	"time"
)

// Duration is a time.Duration that reads and writes as a Go duration string
// ("90s", "15m", "24h") so that specs pasted into the Temporal UI stay
// readable. A bare JSON number is read as seconds.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats the duration the way it is written in a spec.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON accepts "15m"-style strings and plain seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("invalid duration %q: use a Go duration such as \"90s\", \"15m\" or \"24h\"", s)
		}
		*d = Duration(v)
		return nil
	}
	var secs float64
	if err := json.Unmarshal(b, &secs); err != nil {
		return fmt.Errorf("invalid duration %s: use a string such as \"15m\" or a number of seconds", string(b))
	}
	*d = Duration(time.Duration(secs * float64(time.Second)))
	return nil
}
