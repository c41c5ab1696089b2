#!/usr/bin/env bash
# Mutation check: prove the invariant checker bites. In a scratch copy of the tree, remove the
# reference drop that folio_batch_move_lru() does after the lru_add move function, run the
# scenario tests (the checker runs after every trial), and show the failure they report. The
# working tree is never touched.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$root"/{src,test,scenarios,workers,bench,package.json,tsconfig.json,vitest.config.ts} "$tmp"/
ln -s "$root/node_modules" "$tmp/node_modules"
target="$tmp/src/mm/swap.ts"
from="if (folio !== TOMBSTONE) folio_put(ctx, folio, Holder.LRU_BATCH, 'folios_put_refs');"
to="if (folio !== TOMBSTONE \&\& batch !== Batch.lru_add) folio_put(ctx, folio, Holder.LRU_BATCH, 'folios_put_refs');"
grep -qF "$from" "$target" || { echo "mutation-check: the line to mutate is not in src/mm/swap.ts" >&2; exit 2; }
sed -i "s/$(printf '%s' "$from" | sed 's/[][\/.*^$]/\\&/g')/$to/" "$target"
echo "mutated: src/mm/swap.ts folio_batch_move_lru() no longer drops the lru_add batch reference"
cd "$tmp" && npx tsc -p . >/dev/null || { echo "mutation-check: build failed" >&2; exit 2; }
out=$(npx vitest run test/scenarios-run.test.ts -t 'S1$' 2>&1)
if echo "$out" | grep -q "Tests .*failed"; then
  echo "caught: the checker reports"
  echo "$out" | grep -o '"message": "I[0-9]*[^"]*"' | sort | uniq -c | sort -rn | head -5
  exit 0
fi
echo "NOT caught: the tests still pass with the mutation" >&2
exit 1
