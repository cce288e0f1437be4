package chatops

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"unicode"
)

// Environment variables read by ServeFlags as the defaults of its flags.
const (
	EnvUserMapFile = "CUTOVER_SLACK_USER_MAP"      // --user-map
	EnvSlackUsers  = "CUTOVER_SLACK_USERS"         // --slack-users
	EnvUserMapHint = "CUTOVER_SLACK_USER_MAP_HINT" // --user-map-hint
)

// slackUserID is the shape of a Slack member ID (U0123ABC, or W... on
// Enterprise Grid). Checking it catches a map written the wrong way round
// (alice=U0123ABC) or with display names, which anyone can change.
var slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]+$`)

// UserMapError is a user map that cannot be used; Where names the file
// and line (or the flag) of the problem.
type UserMapError struct {
	Where  string
	Reason string
}

func (e *UserMapError) Error() string {
	return fmt.Sprintf("slack user map %s: %s", e.Where, e.Reason)
}

// ErrNoUsersMapped is returned by ServeFlags.Options when no Slack user is
// mapped and unmapped users are not allowed: every decision would be refused.
var ErrNoUsersMapped = errors.New("no Slack user is mapped to an approver: give --user-map FILE (or --slack-users U0123ABC=alice), or --allow-unmapped-users to let anyone decide under their self-chosen Slack user name")

// ParseUserMap reads "U0123ABC=alice,U0456DEF=bob" (commas or whitespace
// between pairs), the form of the --slack-users flag. A Slack user ID given
// twice is an error, not a silent override.
func ParseUserMap(s string) (map[string]string, error) {
	m := map[string]string{}
	for _, pair := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		if err := addUser(m, pair, "--slack-users"); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func addUser(m map[string]string, pair, where string) error {
	id, name, ok := strings.Cut(pair, "=")
	id, name = strings.TrimSpace(id), strings.TrimSpace(name)
	if !ok || id == "" || name == "" {
		return &UserMapError{Where: where, Reason: fmt.Sprintf("%q is not SLACKUSERID=approver", pair)}
	}
	return setUser(m, id, name, where)
}

func setUser(m map[string]string, id, name, where string) error {
	if !slackUserID.MatchString(id) {
		return &UserMapError{Where: where, Reason: fmt.Sprintf("%q is not a Slack user ID (U0123ABC: the member ID in the person's Slack profile, not their name)", id)}
	}
	if name == "" || strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return &UserMapError{Where: where, Reason: fmt.Sprintf("approver name %q of %s must be non-empty, without spaces", name, id)}
	}
	if prev, dup := m[id]; dup {
		return &UserMapError{Where: where, Reason: fmt.Sprintf("%s is mapped twice (%s and %s)", id, prev, name)}
	}
	m[id] = name
	return nil
}

// LoadUserMap reads a user map file: either a JSON object
// {"U0123ABC": "alice", ...} or lines of U0123ABC=alice (blank lines and
// lines starting with # are skipped). Duplicate IDs are errors.
func LoadUserMap(path string) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, &UserMapError{Where: path, Reason: err.Error()}
	}
	if trimmed := bytes.TrimSpace(raw); len(trimmed) > 0 && trimmed[0] == '{' {
		return parseJSONUserMap(path, trimmed)
	}
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := addUser(m, line, fmt.Sprintf("%s:%d", path, n)); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, &UserMapError{Where: path, Reason: err.Error()}
	}
	return m, nil
}

// parseJSONUserMap reads a flat JSON object of strings token by token, so
// that a duplicated key is seen (encoding/json would keep the last one).
func parseJSONUserMap(path string, raw []byte) (map[string]string, error) {
	bad := func(reason string) error { return &UserMapError{Where: path, Reason: reason} }
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, bad("not a JSON object of Slack user ID to approver name")
	}
	m := map[string]string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, bad(err.Error())
		}
		id := tok.(string) // object keys are always strings
		var name string
		if err := dec.Decode(&name); err != nil {
			return nil, bad(fmt.Sprintf("value of %q must be an approver name (a string)", id))
		}
		if err := setUser(m, id, strings.TrimSpace(name), path); err != nil {
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, bad(err.Error())
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, bad("trailing data after the JSON object")
	}
	return m, nil
}

// ServeFlags are the flags of `cutover chatops serve` that decide who may
// answer a gate from Slack.
type ServeFlags struct {
	UserMapFile   string // --user-map: file of Slack user ID -> approver name
	SlackUsers    string // --slack-users: the same, inline
	Hint          string // --user-map-hint: where operators edit the map, told to unmapped users
	AllowUnmapped bool   // --allow-unmapped-users: the old, unauthenticated behaviour
	requireMapped bool   // --require-mapped-users: the default now, kept for old command lines
}

// Register adds the flags to fs, with defaults from the environment.
func (f *ServeFlags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.UserMapFile, "user-map", os.Getenv(EnvUserMapFile), "file mapping Slack user IDs to approver names: JSON {\"U0123ABC\": \"alice\"} or U0123ABC=alice lines (env "+EnvUserMapFile+")")
	fs.StringVar(&f.SlackUsers, "slack-users", os.Getenv(EnvSlackUsers), "Slack user IDs to approver names inline: U0123ABC=alice,U0456DEF=bob (env "+EnvSlackUsers+")")
	fs.StringVar(&f.Hint, "user-map-hint", os.Getenv(EnvUserMapHint), "where operators edit the user map, quoted to unmapped users (default: the file or flag it came from; env "+EnvUserMapHint+")")
	fs.BoolVar(&f.AllowUnmapped, "allow-unmapped-users", false, "UNSAFE: let Slack users missing from the map decide under their self-chosen Slack user name")
	fs.BoolVar(&f.requireMapped, "require-mapped-users", false, "refuse unmapped Slack users (the default; accepted for old command lines)")
}

// Options loads the user map and returns the handler options it implies.
// Without any mapped user and without --allow-unmapped-users it fails with
// ErrNoUsersMapped rather than start an endpoint that refuses everyone.
func (f *ServeFlags) Options() ([]Option, error) {
	if f.AllowUnmapped && f.requireMapped {
		return nil, errors.New("--allow-unmapped-users and --require-mapped-users contradict each other")
	}
	users := map[string]string{}
	var sources []string
	if f.UserMapFile != "" {
		m, err := LoadUserMap(f.UserMapFile)
		if err != nil {
			return nil, err
		}
		users = m
		sources = append(sources, "file "+f.UserMapFile)
	}
	if f.SlackUsers != "" {
		m, err := ParseUserMap(f.SlackUsers)
		if err != nil {
			return nil, err
		}
		for id, name := range m {
			if err := setUser(users, id, name, "--slack-users and --user-map"); err != nil {
				return nil, err
			}
		}
		sources = append(sources, "--slack-users")
	}
	if len(users) == 0 && !f.AllowUnmapped {
		return nil, ErrNoUsersMapped
	}
	source := f.Hint
	if source == "" && len(sources) > 0 {
		source = strings.Join(sources, " or ") + " of `cutover chatops serve`"
	}
	opts := []Option{WithUserMap(users)}
	if source != "" {
		opts = append(opts, WithUserMapSource(source))
	}
	if f.AllowUnmapped {
		opts = append(opts, AllowUnmappedUsers())
	}
	return opts, nil
}
