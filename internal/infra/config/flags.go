package config

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// EnvPrefix prefixes the environment variable of every flag.
const EnvPrefix = "INVOICED_"

// EnvName returns the environment variable that sets flag name.
func EnvName(flagName string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// envHelp is what every command's help says of the environment.
const envHelp = "Every flag can also be set with the environment variable shown; a flag on the\ncommand line beats its variable."

// commandFlags are the flags of one command, parsed the same way for every
// command: each flag not given on the command line takes its INVOICED_<FLAG>
// environment variable when that is set, and the help lists every flag with
// its variable and default.
type commandFlags struct {
	*flag.FlagSet
	out     io.Writer
	head    string            // synopsis and description, above the flags
	noEnv   map[string]string // flags no variable sets, and why
	cmdline map[string]bool   // flags given on the command line
}

// newCommandFlags returns the flags of the command name, whose help starts
// with head and goes to out.
func newCommandFlags(name, head string, out io.Writer) *commandFlags {
	c := &commandFlags{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), out: out, head: head,
		noEnv: map[string]string{}, cmdline: map[string]bool{}}
	c.SetOutput(out)
	c.Usage = c.usage
	return c
}

// commandLineOnly makes flag name one that no environment variable sets,
// for the reason the help gives.
func (c *commandFlags) commandLineOnly(name, reason string) { c.noEnv[name] = reason }

// parse reads args and then the environment through getenv. It returns
// flag.ErrHelp after printing the help when asked for it, and an error
// naming the bad flag, variable or argument otherwise.
func (c *commandFlags) parse(args []string, getenv func(string) string) error {
	if err := c.Parse(args); err != nil {
		return err
	}
	if c.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", c.Arg(0))
	}
	c.Visit(func(f *flag.Flag) { c.cmdline[f.Name] = true })
	var err error
	c.VisitAll(func(f *flag.Flag) {
		if c.cmdline[f.Name] || err != nil {
			return
		}
		if _, skip := c.noEnv[f.Name]; skip {
			return
		}
		name := EnvName(f.Name)
		v := getenv(name)
		if v == "" {
			return
		}
		if setErr := c.Set(f.Name, v); setErr != nil {
			err = fmt.Errorf("%s=%q: %w", name, v, setErr)
		}
	})
	return err
}

// given reports whether flag name was set, on the command line or by its
// variable; call it after parse.
func (c *commandFlags) given(name string) bool {
	set := false
	c.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// source returns how flag name was set, for an error message: --name on
// the command line, else its variable.
func (c *commandFlags) source(name string) string {
	if c.cmdline[name] {
		return "--" + name
	}
	return EnvName(name)
}

// usage prints the command's help: head, what the environment does, and
// every flag with its variable, default and description.
func (c *commandFlags) usage() {
	fmt.Fprintf(c.out, "%s\n\n%s\n\nFlags:\n", strings.TrimRight(c.head, "\n"), envHelp)
	c.VisitAll(func(f *flag.Flag) {
		def := f.DefValue
		if def == "" {
			def = `""`
		}
		env := "env " + EnvName(f.Name)
		if _, skip := c.noEnv[f.Name]; skip {
			env = "no env"
		}
		text := f.Usage
		if reason := c.noEnv[f.Name]; reason != "" {
			text += "; " + reason
		}
		fmt.Fprintf(c.out, "  --%s (%s, default %s)\n      %s\n", f.Name, env, def, text)
	})
}
