#!/bin/bash
# Builds a PostgreSQL image locally from Debian's packages, with no image registry.
#
# Usage: scripts/build-postgres-image.sh [--force] [IMAGE_TAG] [SUITE]
#   IMAGE_TAG  default querylab/postgres:<major>-<suite>, e.g. querylab/postgres:15-bookworm
#   SUITE      Debian suite, default bookworm (PostgreSQL 15); bullseye gives 13,
#              trixie 17 (when the mirror carries them). Pass IMAGE_TAG for others.
#   --force    rebuild even when the image exists.
# Environment: DEBIAN_MIRROR overrides the mirror read from this machine's apt sources.
#
# Why: querylab's docker backend (testcontainers) needs a postgres image, and machines
# without registry access cannot `docker pull postgres`. This script debootstraps a
# minimal root with the `postgresql` package, adds an entrypoint that behaves like the
# official image's (scripts/postgres-entrypoint.sh), and `docker import`s it. Then:
#   querylab load --backend docker --pg-image querylab/postgres:15-bookworm
#
# Idempotent: exits at once when IMAGE_TAG exists and was built by this version of
# the script and entrypoint (a label records which). Needs root (debootstrap chroots)
# and installs debootstrap with apt-get when it is missing. The temporary root is
# removed on every exit. Prints the build time.
set -Eeuo pipefail
SECONDS=0

force=0
if [ "${1:-}" = '--force' ]; then
	force=1
	shift
fi
suite="${2:-bookworm}"
case "$suite" in
	bullseye) major=13 ;;
	bookworm) major=15 ;;
	trixie) major=17 ;;
	*) major='' ;;
esac
if [ -n "${1:-}" ]; then
	tag="$1"
elif [ -n "$major" ]; then
	tag="querylab/postgres:${major}-${suite}"
else
	echo "build-postgres-image: unknown suite $suite; pass IMAGE_TAG explicitly" >&2
	exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

say() { echo "build-postgres-image: $*" >&2; }
die() {
	say "$*"
	exit 1
}

command -v docker >/dev/null || die "the docker CLI is missing; install Docker (apt-get install docker.io)"
docker info >/dev/null 2>&1 || die "no Docker engine answers; start it (systemctl start docker) and retry"

# The recipe: this script and the entrypoint. An image built from another recipe
# (an older version of these files) is rebuilt, so re-running after an update is
# enough; an image from this recipe is left alone.
recipe="$(cat "${BASH_SOURCE[0]}" "$here/postgres-entrypoint.sh" | sha256sum | cut -c1-16)"
previous="$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)"
if [ "$force" = 0 ] && [ -n "$previous" ]; then
	built_from="$(docker image inspect -f '{{index .Config.Labels "org.querylab.image.recipe"}}' "$tag" 2>/dev/null || true)"
	if [ "$built_from" = "$recipe" ]; then
		say "$tag already exists; nothing to do (--force rebuilds)"
		exit 0
	fi
	say "$tag was built by another version of this script; rebuilding"
fi

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap needs chroot); try: sudo $0 $*"

if ! command -v debootstrap >/dev/null; then
	say "installing debootstrap"
	apt-get install -y -qq debootstrap >/dev/null 2>&1 ||
		{ apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; } ||
		die "could not install debootstrap with apt-get"
fi

# The mirror this machine's apt already uses (it is reachable, registries may not be):
# the first Debian URI of a deb822 .sources stanza or a one-line `deb` entry that
# serves the main archive (not -security). DEBIAN_MIRROR wins.
find_mirror() {
	local f uri
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		uri="$(awk '
			function flush() { if (!done && types ~ /(^|[ \t])deb([ \t]|$)/ && uri != "" && uri !~ /security/) { print uri; done = 1; exit } uri = ""; types = "" }
			/^[ \t]*$/ { flush(); next }
			/^URIs:/ { uri = $2 }
			/^Types:/ { types = $0 }
			END { flush() }
		' "$f" | grep -i debian | head -n1)"
		[ -n "$uri" ] && { echo "$uri"; return; }
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		uri="$(sed -nE 's/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+)[[:space:]]+[a-z]+[[:space:]]+.*main.*/\2/p' "$f" |
			grep -i debian | grep -v security | head -n1)"
		[ -n "$uri" ] && { echo "$uri"; return; }
	done
	echo http://deb.debian.org/debian
}
mirror="${DEBIAN_MIRROR:-$(find_mirror)}"

work="$(mktemp -d /var/tmp/querylab-pgimage.XXXXXX)"
root="$work/root"
log="$work/debootstrap.log"
cleanup() {
	set +e # clean up as much as possible, whatever fails
	# debootstrap mounts /proc and /sys inside the root; unmount before deleting so
	# rm can never reach the host's.
	grep -o " $root[^ ]*" /proc/mounts 2>/dev/null | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null || true
	done
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT
# Long steps run in their own process group, in the background, so that a signal
# sent to this script alone (kill PID, not only Ctrl-C) stops them at once too.
child=''
run() {
	setsid "$@" &
	child=$!
	local rc=0
	wait "$child" || rc=$?
	child=''
	return "$rc"
}
on_signal() {
	set +e
	if [ -n "$child" ]; then
		# The whole group, and wait until it is gone: nothing may still write into
		# the root while cleanup removes it.
		kill -TERM -- "-$child" 2>/dev/null
		for _ in $(seq 50); do
			kill -0 -- "-$child" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL -- "-$child" 2>/dev/null
		wait "$child" 2>/dev/null
	fi
	exit 130
}
trap on_signal INT TERM

say "debootstrap $suite from $mirror into $root"
debootstrap_failed() {
	tail -n 20 "$log" >&2
	die "debootstrap failed (mirror $mirror); set DEBIAN_MIRROR to a reachable Debian mirror"
}
# Two stages so that dpkg can be told not to fsync every file it unpacks (the root
# is thrown away after import): that is most of the install time on a busy disk.
# HypoPG comes along for `querylab advise`'s screening; its package is named after
# the suite's PostgreSQL major (bookworm: 15, trixie: 17).
case "$suite" in
bullseye) hypopg=postgresql-13-hypopg ;;
bookworm) hypopg=postgresql-15-hypopg ;;
trixie) hypopg=postgresql-17-hypopg ;;
*) hypopg='' ;;
esac
run debootstrap --foreign --variant=minbase --include="postgresql${hypopg:+,$hypopg}" \
	"$suite" "$root" "$mirror" >"$log" 2>&1 || debootstrap_failed
mkdir -p "$root/etc/dpkg/dpkg.cfg.d"
echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/querylab-unsafe-io"
run chroot "$root" /debootstrap/debootstrap --second-stage >>"$log" 2>&1 || debootstrap_failed
rm -f "$root/etc/dpkg/dpkg.cfg.d/querylab-unsafe-io"
say "installed in ${SECONDS} s"
bindir="$(ls -d "$root"/usr/lib/postgresql/*/bin | sort -V | tail -n1)"
[ -x "$bindir/postgres" ] || die "postgresql was not installed in the root"
pgmajor="$(basename "$(dirname "$bindir")")"
bindir="${bindir#"$root"}"

# The package created a default cluster we do not want: the entrypoint runs initdb.
rm -rf "$root/etc/postgresql/$pgmajor" "$root/var/lib/postgresql/$pgmajor"
# Listen on every interface by default, as the official image does (initdb copies
# the sample into each new cluster).
sed -ri "s/^#?(listen_addresses)\s*=\s*\S+.*/\1 = '*'/" \
	"$root/usr/share/postgresql/$pgmajor/postgresql.conf.sample"
grep -q "^listen_addresses = '\*'" "$root/usr/share/postgresql/$pgmajor/postgresql.conf.sample" ||
	die "could not set listen_addresses in postgresql.conf.sample"
install -m 0755 "$here/postgres-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
mkdir -p "$root/docker-entrypoint-initdb.d" "$root/var/lib/postgresql/data"
# Smaller image: package caches, docs and manuals are not needed at run time.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
	"$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
	"$root"/usr/share/locale/*

# PGDATA is a VOLUME, as in the official image: the data directory lives on the
# host's file system, not on the storage driver's copy-on-write layer (with
# fuse-overlayfs, a database clone took 0.92 s there against 0.19 s on a volume).
# The container's removal removes the anonymous volume with it (docker rm -v).
say "importing as $tag"
imported="$(tar -C "$root" --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -c . |
	docker import \
		--change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$bindir" \
		--change 'ENV LANG=C.UTF-8' \
		--change 'ENV PGDATA=/var/lib/postgresql/data' \
		--change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
		--change 'CMD ["postgres"]' \
		--change 'EXPOSE 5432' \
		--change 'VOLUME /var/lib/postgresql/data' \
		--change "LABEL org.querylab.image.builder=scripts/build-postgres-image.sh org.querylab.image.source=debian-$suite org.querylab.image.postgresql=$pgmajor org.querylab.image.recipe=$recipe" \
		-)"
# `docker import` cannot set STOPSIGNAL; a one-line build on top of the imported
# image can, with no registry. SIGINT is the official image's choice (fast shutdown).
# Only this last step tags the image, so a failed build never looks finished.
printf 'FROM %s\nSTOPSIGNAL SIGINT\n' "$imported" | DOCKER_BUILDKIT=0 docker build -q -t "$tag" - >/dev/null 2>&1 || {
	docker rmi "$imported" >/dev/null 2>&1
	die "could not set STOPSIGNAL on the imported image (docker build)"
}

# A rebuild leaves the previous image untagged: remove it unless a container uses it.
if [ -n "$previous" ] && [ "$previous" != "$(docker image inspect -f '{{.Id}}' "$tag")" ]; then
	docker rmi "$previous" >/dev/null 2>&1 || true
fi
cleanup # now, so that the time printed includes it
trap - EXIT
say "built $tag (PostgreSQL $pgmajor, Debian $suite) in ${SECONDS} s"
