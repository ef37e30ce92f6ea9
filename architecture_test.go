package main

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const modulePath = "github.com/invoiced/invoiced"

// packageImports returns, for every package of the module but the binary's,
// the packages of the module its non-test files import, by path relative
// to the module.
func packageImports(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, ok := strings.CutPrefix(fields[0], modulePath+"/")
		if !ok {
			continue // the binary
		}
		ours := []string{}
		for _, imp := range fields[1:] {
			if rel, ok := strings.CutPrefix(imp, modulePath+"/"); ok {
				ours = append(ours, rel)
			}
		}
		pkgs[pkg] = ours
	}
	return pkgs
}

// tableRow is a row of docs/ARCHITECTURE.md's package table: the packages
// it describes and the packages of ours it says they import.
type tableRow struct {
	pkgs, imports []string
}

var backticked = regexp.MustCompile("`([^`]+)`")

// packageTable returns the rows of docs/ARCHITECTURE.md's "Packages" table.
// In the imports column what follows "(" is a remark, not an import.
func packageTable(t *testing.T) []tableRow {
	t.Helper()
	data, err := os.ReadFile("docs/ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## Packages\n")
	if !ok {
		t.Fatal("docs/ARCHITECTURE.md has no Packages section")
	}
	var rows []tableRow
	for _, line := range strings.Split(section, "\n") {
		if strings.HasPrefix(line, "## ") {
			break
		}
		cells := strings.Split(line, " | ")
		if !strings.HasPrefix(line, "| `") || len(cells) != 3 {
			continue
		}
		var row tableRow
		for _, m := range backticked.FindAllStringSubmatch(cells[0], -1) {
			row.pkgs = append(row.pkgs, m[1])
		}
		imports, _, _ := strings.Cut(strings.TrimSuffix(cells[2], " |"), "(")
		for _, m := range backticked.FindAllStringSubmatch(imports, -1) {
			row.imports = append(row.imports, m[1])
		}
		rows = append(rows, row)
	}
	return rows
}

// TestArchitectureListsEveryPackageAndItsImports holds docs/ARCHITECTURE.md's
// package table to the code: every package of the module is in one row,
// and each row names exactly the packages of ours that its packages import,
// other than each other.
func TestArchitectureListsEveryPackageAndItsImports(t *testing.T) {
	actual := packageImports(t)
	listed := map[string]bool{}
	for _, row := range packageTable(t) {
		want := []string{}
		for _, pkg := range row.pkgs {
			imports, ok := actual[pkg]
			if !ok {
				t.Errorf("the table lists %s, which is no package of the module", pkg)
			}
			listed[pkg] = true
			for _, imp := range imports {
				if !slices.Contains(row.pkgs, imp) && !slices.Contains(want, imp) {
					want = append(want, imp)
				}
			}
		}
		slices.Sort(want)
		got := slices.Sorted(slices.Values(row.imports))
		if !slices.Equal(got, want) {
			t.Errorf("the row of %s says it imports %q; the code imports %q", strings.Join(row.pkgs, ", "), got, want)
		}
	}
	for pkg := range actual {
		if !listed[pkg] {
			t.Errorf("package %s is not in the table", pkg)
		}
	}
}

// TestRolesNeverImportEachOther checks that api, processor and dispatcher
// import none of the others, not even in their tests: they meet only
// through events, the webhook records and JetStream.
func TestRolesNeverImportEachOther(t *testing.T) {
	roles := []string{"api", "processor", "dispatcher"}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}`,
		"./api", "./processor", "./dispatcher").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		role := strings.TrimPrefix(fields[0], modulePath+"/")
		for _, imp := range fields[1:] {
			other := strings.TrimPrefix(imp, modulePath+"/")
			if other != role && slices.Contains(roles, other) {
				t.Errorf("%s imports %s", role, other)
			}
		}
	}
}
