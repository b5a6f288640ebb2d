/* SPDX-License-Identifier: MIT */
/*
 * snapshot-merge - apply a Diff memory file of a minivmm snapshot to the
 * Full memory file it follows, in place (memfile_merge()). Applying each
 * Diff in the order they were taken turns the base into the Full memory
 * file of the last one.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../minivmm/memfile.h"

static const char usage[] =
	"usage: snapshot-merge --base FILE --diff FILE\n"
	"Copies every page stored in the diff memory file onto the base\n"
	"memory file, in place. Both must be memory files of the same guest.\n"
	"If the merge fails, the base is partly merged: run the same merge\n"
	"again.\n"
	"Exit status: 0 on success, 2 on any error (one line on stderr).\n";

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "base", required_argument, NULL, 'b' },
		{ "diff", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *base = NULL, *diff = NULL;
	char err[512];
	int c;

	/* Our own one-line messages instead of getopt's. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			base = optarg;
			break;
		case 'd':
			diff = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case ':':
			fprintf(stderr,
				"snapshot-merge: %s needs a FILE "
				"(try --help)\n",
				argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr,
				"snapshot-merge: bad option %s (try --help)\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr,
			"snapshot-merge: unexpected argument %s (try --help)\n",
			argv[optind]);
		return 2;
	}
	if (!base || !diff) {
		fprintf(stderr, "snapshot-merge: --base and --diff are both "
				"needed (try --help)\n");
		return 2;
	}
	if (memfile_merge(base, diff, err, sizeof(err))) {
		fprintf(stderr, "snapshot-merge: %s\n", err);
		return 2;
	}
	return 0;
}
