#!/bin/sh
# The layer check: a file may include clbench headers of its own layer or of
# the layers below it, never above. Layers, bottom to top:
#
#   base  store  nn  tasks  strategies  report  run  cli
#
# A file's layer is its folder: harness/<layer>/, include/clbench/<layer>/,
# strategies/ and tasks/. Also refused: a clbench header outside every
# layer folder ("clbench/x.h"), a layer name that does not exist, and a .c
# file directly in harness/.
#
# Usage: sh tests/layers.sh [ROOT]   (ROOT: the project folder, default .)
# Prints one line per violation, FILE:LINE: what is wrong; exit 1 if any.
set -eu
root=${1:-.}
cd "$root"
LAYERS="base store nn tasks strategies report run cli"

files=$(find harness strategies tasks include/clbench -type f \( -name '*.c' -o -name '*.h' \) \
        2>/dev/null | LC_ALL=C sort)
[ -n "$files" ] || { echo "layers.sh: no sources under $root" >&2; exit 2; }

bad=0

# The awk program gets each file with its layer and checks every quoted
# clbench include against the layer ranks.
printf '%s\n' $files | awk -v layers="$LAYERS" '
BEGIN { n = split(layers, L, " "); for (i = 1; i <= n; i++) rank[L[i]] = i; bad = 0 }
function layer_of(path,   p) {
    if (path ~ /^strategies\//) return "strategies"
    if (path ~ /^tasks\//) return "tasks"
    if (path ~ /^harness\//) { split(path, p, "/"); return p[2] }
    if (path ~ /^include\/clbench\//) { split(path, p, "/"); return p[3] }
    return ""
}
{
    file = $0
    own = layer_of(file)
    if (!(own in rank)) {
        printf "%s: not in a layer folder (%s)\n", file, layers; bad = 1; next
    }
    line = 0
    while ((getline text < file) > 0) {
        line++
        if (text !~ /^[ \t]*#[ \t]*include[ \t]*"clbench\//) continue
        hdr = text
        sub(/^[^"]*"/, "", hdr); sub(/".*$/, "", hdr)
        k = split(hdr, part, "/")
        if (k != 3) {
            printf "%s:%d: %s is not in a layer folder (clbench/<layer>/<name>.h)\n", file, line, hdr
            bad = 1; continue
        }
        if (!(part[2] in rank)) {
            printf "%s:%d: %s: no layer named %s\n", file, line, hdr, part[2]; bad = 1; continue
        }
        if (rank[part[2]] > rank[own]) {
            printf "%s:%d: layer %s includes %s from layer %s above it\n", file, line, own, hdr, part[2]
            bad = 1
        }
    }
    close(file)
}
END { exit bad }' || bad=1
exit $bad
