# Shared by tools/run-tests and tools/test-ports (sourced, not run): run a
# test program, read its summary, and add up the counts.
#   run LABEL COMMAND...   runs COMMAND, prints its output, adds its counts
#   summary [TITLE]        prints the totals (skipped tests on a line of
#                          their own); returns non-zero on a failure
#   counts_reset           starts a new set of totals (summary's own ones)
# The caller sets start=$(date +%s) and cds to the top of the tree.

tests_passed=0
tests_failed=0
tests_skipped=0
failures=
all_passed=0
all_failed=0
all_skipped=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# count PATTERN: the number in the first line of the log matching PATTERN.
count() {
	n=$(sed -n "s/$1/\\1/p" "$log" | head -n 1)
	echo "${n:-0}"
}

run() {
	label=$1
	shift
	printf '\n== %s\n' "$label"
	"$@" >"$log" 2>&1
	rc=$?
	cat "$log"
	p=$(count '^\[  PASSED  \] \([0-9][0-9]*\) test.*')
	f=$(count '^\[  FAILED  \] \([0-9][0-9]*\) test.*')
	# cmocka counts a failed setup or teardown only in this line.
	e=$(count '^ \([0-9][0-9]*\) FAILED TEST(S).*')
	[ "$e" -le "$f" ] || f=$e
	s=$(count '^\[  SKIPPED \] \([0-9][0-9]*\) test.*')
	if ! grep -q '^\[  PASSED  \]' "$log"; then
		# The plain "N passed, M failed" line of the shell tests.
		p=$(count '^[a-z]*:* *\([0-9][0-9]*\) passed, [0-9][0-9]* failed.*')
		f=$(count '^[a-z]*:* *[0-9][0-9]* passed, \([0-9][0-9]*\) failed.*')
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		# Crashed or stopped before its summary: count it as one.
		echo "$label: exited with status $rc"
		f=1
	fi
	tests_passed=$((tests_passed + p))
	tests_failed=$((tests_failed + f))
	tests_skipped=$((tests_skipped + s))
	[ "$f" -eq 0 ] || failures="$failures $label"
}

counts_reset() {
	all_passed=$((all_passed + tests_passed))
	all_failed=$((all_failed + tests_failed))
	all_skipped=$((all_skipped + tests_skipped))
	tests_passed=0
	tests_failed=0
	tests_skipped=0
}

# summary [TITLE]: the totals (the line CI reads); the status says if all
# passed. With TITLE, the line is "TITLE: tests: ..." and goes into the
# grand total that `summary` without a title prints after counts_reset.
summary() {
	end=$(date +%s)
	if [ $# -gt 0 ]; then
		printf '\n== %s, %ds\n' "$1" $((end - start))
		[ "$tests_skipped" -eq 0 ] ||
			printf '%s: skipped: %d (each says why above)\n' "$1" "$tests_skipped"
		printf '%s: tests: %d passed, %d failed\n' "$1" "$tests_passed" "$tests_failed"
		[ "$tests_failed" -eq 0 ]
		return
	fi
	printf '\n== all programs, %ds\n' $((end - start))
	[ -z "$failures" ] || printf 'failing programs:%s\n' "$failures"
	[ "$tests_skipped" -eq 0 ] ||
		printf 'skipped: %d (each says why above)\n' "$tests_skipped"
	printf 'tests: %d passed, %d failed\n' "$tests_passed" "$tests_failed"
	[ "$tests_failed" -eq 0 ]
}
