// cni-driver: the container runtime's side of CNI, for netlab's step 09 checks and runtime.
//
// It drives CNI plugins the way containerd, CRI-O and podman do: through libcni (Debian's
// golang-github-appc-cni-dev, 1.1.2), with a configuration list read from a file, plugins
// found only in the directories of -cni-path, and libcni's result cache in -cache-dir.
// libcni 1.1.2 knows spec 1.0; GC and STATUS (spec 1.1) are sent here per the spec, through
// libcni's pkg/invoke, to the plugins of the list whose VERSION lists 1.1.0.
//
// Every answer is one JSON document on stdout; a failure is the spec's error object
// ({"code", "msg", "details"}) on stdout and exit status 1; a bad command line exits 2.
// Whatever the plugins print on stderr passes through to this program's stderr.
//
// Usage:
//
//	cni-driver add|check|del -cni-path DIR -cache-dir DIR -conflist FILE[,FILE...] -id ID -netns PATH [-ifname eth0] [-ports JSON]
//	cni-driver validate -cni-path DIR -conflist FILE
//	cni-driver version -cni-path DIR -plugin TYPE
//	cni-driver gc -cni-path DIR -conflist FILE [-valid ID/IFNAME,...]
//	cni-driver status -cni-path DIR -conflist FILE
//	cni-driver raw -cni-path DIR -plugin TYPE -command CMD [-id ID -netns PATH -ifname IF] < config
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"
)

// passExec runs plugins as libcni's RawExec does, except that their stderr always reaches
// ours (RawExec drops it when the plugin fails), so that a plugin's own messages are seen.
type passExec struct{}

func (passExec) ExecPlugin(ctx context.Context, pluginPath string, stdinData []byte, environ []string) ([]byte, error) {
	stdout := &bytes.Buffer{}
	c := exec.CommandContext(ctx, pluginPath)
	c.Env = environ
	c.Stdin = bytes.NewBuffer(stdinData)
	c.Stdout = stdout
	c.Stderr = os.Stderr
	if err := c.Run(); err != nil {
		e := types.Error{}
		if stdout.Len() == 0 {
			e.Code = 999
			e.Msg = fmt.Sprintf("the plugin failed and printed no error object: %v", err)
		} else if perr := json.Unmarshal(stdout.Bytes(), &e); perr != nil {
			e.Code = 999
			e.Msg = fmt.Sprintf("the plugin failed and its output is not an error object (%v): %q", perr, stdout.String())
		}
		return nil, &e
	}
	return stdout.Bytes(), nil
}

func (passExec) FindInPath(plugin string, paths []string) (string, error) {
	return invoke.FindInPath(plugin, paths)
}

func (passExec) Decode(jsonBytes []byte) (version.PluginInfo, error) {
	return (&version.PluginDecoder{}).Decode(jsonBytes)
}

func main() {
	if len(os.Args) < 2 {
		usage("a command is needed: add, check, del, validate, version, gc, status, raw")
	}
	command := os.Args[1]
	flags := flag.NewFlagSet(command, flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	cniPath := flags.String("cni-path", "", "the plugins' directories (':' between them)")
	cacheDir := flags.String("cache-dir", "", "libcni's result cache")
	conflist := flags.String("conflist", "", "network configuration list file(s), ',' between them")
	id := flags.String("id", "", "CNI_CONTAINERID")
	netns := flags.String("netns", "", "CNI_NETNS")
	ifname := flags.String("ifname", "eth0", "CNI_IFNAME")
	ports := flags.String("ports", "", "the portMappings runtime argument, as JSON")
	plugin := flags.String("plugin", "", "a plugin's type")
	raw := flags.String("command", "", "CNI_COMMAND of raw")
	valid := flags.String("valid", "", "GC's valid attachments, ID/IFNAME with ',' between them")
	if err := flags.Parse(os.Args[2:]); err != nil {
		usage(err.Error())
	}
	if *cniPath == "" {
		usage("-cni-path is needed")
	}
	paths := filepath.SplitList(*cniPath)
	cni := libcni.NewCNIConfigWithCacheDir(paths, *cacheDir, passExec{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	switch command {
	case "add", "check", "del":
		if *conflist == "" || *id == "" {
			usage("-conflist and -id are needed")
		}
		rt := &libcni.RuntimeConf{ContainerID: *id, NetNS: *netns, IfName: *ifname,
			CapabilityArgs: map[string]interface{}{}}
		if *ports != "" {
			var mappings interface{}
			if err := json.Unmarshal([]byte(*ports), &mappings); err != nil {
				usage("-ports is not JSON: " + err.Error())
			}
			rt.CapabilityArgs["portMappings"] = mappings
		}
		files := strings.Split(*conflist, ",")
		if command == "del" {
			// Teardown in the reverse order of setup.
			for i, j := 0, len(files)-1; i < j; i, j = i+1, j-1 {
				files[i], files[j] = files[j], files[i]
			}
		}
		var last types.Result
		var firstErr error
		for _, file := range files {
			list, err := libcni.ConfListFromFile(file)
			if err != nil {
				fail(&types.Error{Code: types.ErrDecodingFailure, Msg: "reading " + file, Details: err.Error()})
			}
			switch command {
			case "add":
				last, err = cni.AddNetworkList(ctx, list, rt)
			case "check":
				err = cni.CheckNetworkList(ctx, list, rt)
			case "del":
				// Every list is deleted even if one fails; the first failure is reported.
				if err = cni.DelNetworkList(ctx, list, rt); err != nil && firstErr == nil {
					firstErr = err
				}
				err = nil
			}
			if err != nil {
				fail(err)
			}
		}
		if firstErr != nil {
			fail(firstErr)
		}
		if last != nil {
			out, err := json.Marshal(last)
			if err != nil {
				fail(err)
			}
			fmt.Println(string(out))
		} else {
			fmt.Println("{}")
		}
	case "validate":
		list, err := libcni.ConfListFromFile(*conflist)
		if err != nil {
			fail(&types.Error{Code: types.ErrDecodingFailure, Msg: "reading " + *conflist, Details: err.Error()})
		}
		caps, err := cni.ValidateNetworkList(ctx, list)
		if err != nil {
			fail(err)
		}
		printJSON(map[string]interface{}{"capabilities": caps})
	case "version":
		info, err := cni.GetVersionInfo(ctx, *plugin)
		if err != nil {
			fail(err)
		}
		// The plugin's own answer, as it printed it (libcni's decoding keeps only the list).
		path, err := invoke.FindInPath(*plugin, paths)
		if err != nil {
			fail(err)
		}
		out, err := passExec{}.ExecPlugin(ctx, path, []byte(`{"cniVersion":"1.0.0"}`),
			append(os.Environ(), "CNI_COMMAND=VERSION", "CNI_PATH="+*cniPath))
		if err != nil {
			fail(err)
		}
		var answer map[string]interface{}
		if err := json.Unmarshal(out, &answer); err != nil {
			fail(&types.Error{Code: types.ErrDecodingFailure, Msg: "the VERSION answer is not JSON", Details: string(out)})
		}
		answer["libcniSupportedVersions"] = info.SupportedVersions()
		printJSON(answer)
	case "gc", "status":
		spec11(ctx, command, paths, *cniPath, *conflist, *valid)
	case "raw":
		if *plugin == "" || *raw == "" {
			usage("-plugin and -command are needed")
		}
		path, err := invoke.FindInPath(*plugin, paths)
		if err != nil {
			fail(err)
		}
		stdin, err := io.ReadAll(os.Stdin)
		if err != nil {
			fail(err)
		}
		env := []string{"CNI_COMMAND=" + *raw, "CNI_PATH=" + *cniPath}
		for name, value := range map[string]string{"CNI_CONTAINERID": *id, "CNI_NETNS": *netns, "CNI_IFNAME": *ifname} {
			if value != "" {
				env = append(env, name+"="+value)
			}
		}
		out, err := passExec{}.ExecPlugin(ctx, path, stdin, append(cleanEnv(), env...))
		if err != nil {
			fail(err)
		}
		fmt.Print(string(out))
	default:
		usage("unknown command " + command)
	}
}

// spec11 sends GC or STATUS (CNI spec 1.1) to every plugin of the list whose VERSION lists
// 1.1.0, in order, with the list's name, cniVersion 1.1.0 and, for GC, the valid attachments.
func spec11(ctx context.Context, command string, paths []string, cniPath, file, valid string) {
	list, err := libcni.ConfListFromFile(file)
	if err != nil {
		fail(&types.Error{Code: types.ErrDecodingFailure, Msg: "reading " + file, Details: err.Error()})
	}
	attachments := []map[string]string{}
	if valid != "" {
		for _, one := range strings.Split(valid, ",") {
			id, ifname, _ := strings.Cut(one, "/")
			attachments = append(attachments, map[string]string{"containerID": id, "ifname": ifname})
		}
	}
	called := []string{}
	skipped := []string{}
	for _, net := range list.Plugins {
		path, err := invoke.FindInPath(net.Network.Type, paths)
		if err != nil {
			fail(err)
		}
		info, err := invoke.GetVersionInfo(ctx, path, passExec{})
		if err != nil {
			fail(err)
		}
		supports := false
		for _, v := range info.SupportedVersions() {
			supports = supports || v == "1.1.0"
		}
		if !supports {
			skipped = append(skipped, net.Network.Type)
			continue
		}
		var conf map[string]interface{}
		if err := json.Unmarshal(net.Bytes, &conf); err != nil {
			fail(&types.Error{Code: types.ErrDecodingFailure, Msg: "a plugin's configuration", Details: err.Error()})
		}
		conf["name"] = list.Name
		conf["cniVersion"] = "1.1.0"
		if command == "gc" {
			conf["cni.dev/valid-attachments"] = attachments
		}
		stdin, err := json.Marshal(conf)
		if err != nil {
			fail(err)
		}
		env := append(cleanEnv(), "CNI_COMMAND="+strings.ToUpper(command), "CNI_PATH="+cniPath)
		if _, err := (passExec{}).ExecPlugin(ctx, path, stdin, env); err != nil {
			fail(err)
		}
		called = append(called, net.Network.Type)
	}
	printJSON(map[string]interface{}{"called": called, "skipped": skipped})
}

// cleanEnv is this program's environment without any CNI_ variable.
func cleanEnv() []string {
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CNI_") {
			env = append(env, kv)
		}
	}
	return env
}

func printJSON(v interface{}) {
	out, err := json.Marshal(v)
	if err != nil {
		fail(err)
	}
	fmt.Println(string(out))
}

// fail prints the spec's error object for err (a plugin's own, or one of libcni's) and
// exits 1.
func fail(err error) {
	e := &types.Error{}
	if !errors.As(err, &e) {
		e = &types.Error{Code: 999, Msg: err.Error()}
	} else if e.Msg != err.Error() && !strings.Contains(e.Msg, err.Error()) {
		// libcni wraps a plugin's error with the plugin's name: keep the code, say both.
		e = &types.Error{Code: e.Code, Msg: e.Msg, Details: strings.TrimSpace(err.Error() + " " + e.Details)}
	}
	out, jerr := json.Marshal(e)
	if jerr != nil {
		fmt.Println(`{"code":999,"msg":"cannot encode an error"}`)
	} else {
		fmt.Println(string(out))
	}
	os.Exit(1)
}

func usage(why string) {
	fmt.Fprintf(os.Stderr, "cni-driver: %s\n", why)
	os.Exit(2)
}
