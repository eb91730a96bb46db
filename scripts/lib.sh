# shellcheck shell=bash disable=SC2034
# scripts/lib.sh - shared helpers of scripts/test, scripts/demo and .ci/run.
# Source it from bash; it defines functions and variables only.

# The repository root (this file lives in scripts/).
PT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Debian packages needed to build and test perftop.
PT_DEB_PACKAGES=(
	build-essential
	autoconf automake libtool pkg-config
	libncurses-dev libbsd-dev libcunit1-dev libjansson-dev
	tmux jq prometheus clang libclang-rt-14-dev python3 valgrind
)

# Options every build directory made by the scripts is configured with.
PT_CONFIGURE_ARGS=(--enable-werror)

pt_log() { printf '==> %s\n' "$*" >&2; }

# Prints the packages of PT_DEB_PACKAGES that are not installed.
pt_missing_packages() {
	local p status
	for p in "${PT_DEB_PACKAGES[@]}"; do
		status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
		case $status in
		*" installed") ;;
		*)
			# promtool is all we need from prometheus.
			if [ "$p" = prometheus ] && command -v promtool >/dev/null 2>&1; then
				continue
			fi
			echo "$p"
			;;
		esac
	done
}

# Installs the missing packages as root; otherwise prints the command to run
# and returns 1.  With --update, runs apt-get update even if nothing is missing.
# shellcheck disable=SC2120
pt_ensure_deps() {
	local force_update=0 missing
	[ "${1:-}" = --update ] && force_update=1

	if ! command -v dpkg-query >/dev/null 2>&1; then
		pt_log "dpkg-query not found: not a Debian system; install by hand:"
		pt_log "  ${PT_DEB_PACKAGES[*]}"
		return 0
	fi

	missing=$(pt_missing_packages | tr '\n' ' ')
	missing=${missing% }
	if [ -z "$missing" ] && [ "$force_update" = 0 ]; then
		return 0
	fi

	if [ "$(id -u)" != 0 ]; then
		echo "Missing packages: $missing" >&2
		echo "Install them as root with:" >&2
		echo "  apt-get update && apt-get install -y $missing" >&2
		return 1
	fi

	export DEBIAN_FRONTEND=noninteractive
	pt_log "apt-get update"
	if ! apt-get update -q; then
		[ -n "$missing" ] && { pt_log "apt-get update failed"; return 1; }
		pt_log "apt-get update failed (nothing is missing; going on)"
		return 0
	fi
	if [ -n "$missing" ]; then
		pt_log "apt-get install $missing"
		# shellcheck disable=SC2086
		apt-get install -y -q --no-install-recommends $missing </dev/null || return 1
	fi
	missing=$(pt_missing_packages | tr '\n' ' ')
	if [ -n "${missing% }" ]; then
		pt_log "still missing after apt-get install: $missing"
		return 1
	fi
}

# pt_ncpu: number of parallel jobs.
pt_ncpu() { nproc 2>/dev/null || echo 2; }

# pt_configure BUILDDIR [CONFIGURE-ARGS...]: runs autoreconf when the
# generated files are missing or stale and configures BUILDDIR (out of tree)
# when it is not configured yet or configure changed.  Later changes to
# configure.ac or Makefile.am are also picked up by make's own rebuild rules.
pt_configure() {
	local builddir=$1
	shift
	case $builddir in /*) ;; *) builddir=$PT_ROOT/$builddir ;; esac
	cd "$PT_ROOT" || return 1

	if [ -f config.status ]; then
		pt_log "the source tree is configured in place; running make distclean there"
		make distclean >/dev/null 2>&1 || rm -f config.status
	fi

	if [ ! -x configure ] || [ ! -f Makefile.in ] ||
	    [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
		pt_log "autoreconf -fi"
		autoreconf -fi || return 1
	fi

	mkdir -p "$builddir" || return 1
	if [ ! -f "$builddir/Makefile" ] || [ ! -f "$builddir/config.status" ] ||
	    [ configure -nt "$builddir/config.status" ] ||
	    [ configure.ac -nt "$builddir/config.status" ] ||
	    [ Makefile.am -nt "$builddir/Makefile" ]; then
		pt_log "configuring $builddir: $PT_ROOT/configure $*"
		(cd "$builddir" && "$PT_ROOT/configure" "$@") || return 1
	fi
}

# pt_build BUILDDIR [CONFIGURE-ARGS...]: configures (if needed) and builds.
pt_build() {
	local builddir=$1
	case $builddir in /*) ;; *) builddir=$PT_ROOT/$builddir ;; esac
	pt_configure "$@" || return 1
	pt_log "make -j$(pt_ncpu) in $builddir"
	make -C "$builddir" -j"$(pt_ncpu)"
}
