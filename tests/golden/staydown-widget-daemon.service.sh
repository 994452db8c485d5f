#!/usr/bin/env bash
# staydown 0.1.0: keep widget-daemon.service down.
#
# Plan <plan-id>, made <created>.
# What was found: widget-daemon.service is active (running); no failure is
# recorded (Result=success)
# Lasts: until the next reboot (stops, runtime masks and drop-ins under /run).
#
# Read it before you run it. Each block names one revival source, the evidence
# it rests on and what the block does; sources come first, the unit itself last.
# Every change is written to a record first, so the undo script reverses
# exactly what this script changed, even after a run that was cut short.
# Running it twice changes nothing the second time.
#
# Run as root:  bash <this file> [--force]
# Undo:         bash staydown-widget-daemon.service.undo.sh
# Exit status:  0 done and verified    1 a step failed or not root
#               2 bad arguments        3 the host changed since the plan (--force)
#               4 done, but the final check found something running or not in place
set -euo pipefail
export LC_ALL=C SYSTEMD_PAGER='' SYSTEMD_COLORS=0

readonly PLAN_ID=<plan-id>
readonly RECORD=/var/lib/staydown/<plan-id>.done
readonly LINKS=/var/lib/staydown/<plan-id>.links
readonly SETTLE_SECONDS="${STAYDOWN_SETTLE_SECONDS:-2}"
force=0

usage() { printf 'usage: %s [--force]\n' "$0"; }
for arg in "$@"; do
  case $arg in
    --force) force=1 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done

if [[ $(id -u) -ne 0 ]]; then
  echo "staydown: this script changes systemd units; run it as root" >&2
  exit 1
fi

say() { printf 'staydown: %s\n' "$*"; }
fail() { printf 'staydown: %s\n' "$*" >&2; exit 1; }
did() { [[ -f $RECORD ]] && grep -Fxq -- "$1" "$RECORD"; }
note() {
  did "$1" && return 0
  mkdir -p -- "${RECORD%/*}"
  printf '%s\n' "$1" >>"$RECORD"
  sync -- "$RECORD" 2>/dev/null || true
}
is_running() {
  local state
  state=$(systemctl is-active -- "$1" 2>/dev/null) || true
  [[ $state == active || $state == activating || $state == reloading ]]
}
file_state() { systemctl is-enabled -- "$1" 2>/dev/null || true; }
drop_in_active() { # unit path: whether systemd has loaded that drop-in
  local paths
  paths=$(systemctl show -P DropInPaths -- "$1")
  [[ " $paths " == *" $2 "* ]]
}

stop_unit() { # id unit
  local attempt
  if ! is_running "$2"; then
    say "$2 is already stopped"
    return 0
  fi
  note "$1 stop"  # usually recorded already, before the first change (below)
  say "stopping $2"
  # A start request that arrives meanwhile (a source left firing, a held unit's
  # trigger) replaces the stop job and systemctl reports it cancelled: try again.
  for attempt in 1 2 3; do
    systemctl stop -- "$2" && return 0
    is_running "$2" || return 0
    say "the stop of $2 was cancelled by a start request (try $attempt of 3)"
    sleep 1
  done
  fail "could not stop $2"
}
mask_unit() { # id unit [--runtime]
  local state
  state=$(file_state "$2")
  if [[ $state == masked || $state == "masked${3:+-runtime}" ]]; then
    say "$2 is already masked"
    return 0
  fi
  note "$1 mask"
  say "masking $2${3:+ until reboot}"
  systemctl mask ${3:+"$3"} -- "$2"
}
save_links() { # id unit: the links disable removes, so the undo can put back exactly these
  local path target
  mkdir -p -- "${LINKS%/*}"
  while IFS= read -r -d '' path && IFS= read -r -d '' target; do
    [[ $target == /dev/null ]] && continue
    if [[ ${path##*/} == "$2" || ${target##*/} == "$2" ]]; then
      printf '%s\0%s\0%s\0' "$1" "$path" "$target" >>"$LINKS"
    fi
  done < <(find /etc/systemd/system -type l -printf '%p\0%l\0')
}
disable_unit() { # id unit
  local state
  state=$(file_state "$2")
  if [[ $state != enabled && $state != enabled-runtime ]]; then
    say "$2 is not enabled (${state:-unknown})"
    return 0
  fi
  did "$1 disable" || save_links "$1" "$2"
  note "$1 disable"
  say "disabling $2"
  systemctl disable -- "$2"
}
install_drop_in() { # id unit path text
  local tmp
  if [[ -f $3 ]]; then
    [[ $(<"$3") == "$4" ]] || fail "$3 exists with other content; staydown will not overwrite it"
    say "$3 is already in place"
  else
    note "$1 drop-in"
    mkdir -p -- "${3%/*}"
    tmp=$(mktemp -- "${3%/*}/.staydown.XXXXXX")
    printf '%s\n' "$4" >"$tmp"
    chmod 0644 -- "$tmp"
    mv -f -- "$tmp" "$3"
    say "wrote $3"
  fi
  drop_in_active "$2" "$3" || systemctl daemon-reload
}
comment_out() { # id file line
  local backup tmp
  if [[ $(sed -n "$3p" -- "$2") == '#staydown# '* ]]; then
    say "line $3 of $2 is already commented out"
    return 0
  fi
  backup="$2.staydown-$PLAN_ID.bak"
  [[ -e $backup ]] || cp -p -- "$2" "$backup"
  note "$1 comment-out"
  tmp=$(mktemp -- "$2.staydown.XXXXXX")
  # Plain bash, line by line: awk is not guaranteed on a minimal system.
  local number=0 line
  while IFS= read -r line || [[ -n $line ]]; do
    number=$((number + 1))
    if ((number == $3)); then printf '#staydown# %s\n' "$line"; else printf '%s\n' "$line"; fi
  done <"$2" >"$tmp"
  chmod --reference="$2" -- "$tmp"
  chown --reference="$2" -- "$tmp"
  mv -f -- "$tmp" "$2"
  say "commented out line $3 of $2 (backup: $backup)"
}

# -- Is this still the host the plan was made for? ---------------------------
drift=()
check_file() { # path sha256
  local actual=missing
  if [[ -f $1 ]]; then
    actual=$(sha256sum <"$1")
    actual=${actual%% *}
  fi
  [[ $actual == "$2" ]] || drift+=("$1 has changed (or is gone) since the plan was made")
}
check_unit() { # unit state
  local now
  now=$(file_state "$1")
  [[ $now == "$2" ]] || drift+=("$1 is ${now:-unknown} now; it was $2 when the plan was made")
}
check_file /etc/systemd/system/widget-daemon.service <sha256>
check_file /etc/systemd/system/widget-daemon.socket <sha256>
check_file /etc/systemd/system/widget-reconcile.timer <sha256>
if [[ ! -f $RECORD ]]; then
  # Only before the first run: the plan itself changes these.
  check_unit widget-daemon.service enabled
  check_unit widget-daemon.socket enabled
  check_unit widget-reconcile.timer enabled
  :
fi
if ((${#drift[@]})); then
  printf 'staydown: %s\n' "${drift[@]}" >&2
  if ((force)); then
    say "--force: running anyway"
  else
    echo "staydown: the host no longer matches this plan; make a new one, or run with --force" >&2
    exit 3
  fi
fi

# Which units run now, recorded before anything changes: stopping or masking
# one unit can take another down with it (an automount its mount, a masked
# timer whose trigger vanishes), and the undo must start those again too.
if is_running widget-daemon.socket; then note 'a1 stop'; fi
if is_running widget-reconcile.timer; then note 'a2 stop'; fi
if is_running widget-daemon.service; then note 'a3 stop'; fi

# -- 1. socket: widget-daemon.socket (live)
# Chain: widget-daemon.socket -> widget-daemon.service
# widget-daemon.socket listens on 127.0.0.1:8080 on behalf of widget-
# daemon.service. The moment any client connects (a health check, a stray
# client), systemd starts widget-daemon.service to answer it. Stopping only
# the service is a suggestion the next connection overrules: the socket is
# what holds the door open. Stop the socket and the service together, or mask
# the socket to keep it down.
# Evidence:
#   widget-daemon.socket: ActiveState=active (running)
#   widget-daemon.socket: Listen=Stream 127.0.0.1:8080
#   widget-daemon.socket: Triggers=widget-daemon.service
#   widget-daemon.socket: UnitFileState=enabled: it also starts at boot
# This block: Stops widget-daemon.socket, root first.
# stop widget-daemon.socket
stop_unit a1 widget-daemon.socket

# -- 2. dependency: widget-reconcile.timer (live)
# Chain: widget-reconcile.timer -> widget-reconcile.service -> widget-daemon.service
# widget-reconcile.timer triggers widget-reconcile.service, which wants
# (Wants=) widget-daemon.service. Starting widget-reconcile.service starts
# widget-daemon.service with it: systemd is a dependency graph, and anything
# in it can pull widget-daemon.service up, not just its own restart policy.
# `systemctl list-dependencies --reverse widget-daemon.service` shows this
# relationship. widget-reconcile.timer keeps firing on its own, so widget-
# daemon.service comes back every time it does. Stop the root (and disable it
# to survive a reboot), or mask the unit.
# Evidence:
#   widget-reconcile.timer: ActiveState=active (waiting)
#   widget-reconcile.timer: OnUnitActiveSec=5s
#   widget-reconcile.timer: OnActiveSec=5s
#   widget-reconcile.timer: next elapse 2026-12-02 07:20:55 UTC (4s from the
#   snapshot)
#   widget-reconcile.timer: Triggers=widget-reconcile.service
#   widget-reconcile.service: Wants=widget-daemon.service
#   widget-reconcile.timer: UnitFileState=enabled: it also starts at boot
# This block: Stops widget-reconcile.timer, root first.
# stop widget-reconcile.timer
stop_unit a2 widget-reconcile.timer

# -- 3. the unit itself: widget-daemon.service
# widget-daemon.service is active (running); no failure is recorded
# (Result=success)
# This block: Stops widget-daemon.service, now that nothing is left to start
# it again.
# stop widget-daemon.service itself
stop_unit a3 widget-daemon.service

# -- Final check: still down, every source neutralised -------------------------
# A short wait first, so a source that fires at once (Upholds=, a socket with
# a client waiting) has had its chance to show itself.
sleep "$SETTLE_SECONDS"
problems=0
problem() { printf 'staydown: FAILED: %s\n' "$*" >&2; problems=1; }
check_down() { if is_running "$1"; then problem "$1 is running"; else say "ok: $1 is down"; fi; }
check_masked() { [[ $(file_state "$1") == masked* ]] || problem "$1 is not masked"; }
check_disabled() { [[ $(file_state "$1") != enabled* ]] || problem "$1 is still enabled"; }
check_drop_in() { drop_in_active "$1" "$2" || problem "$2 is not in effect"; }
check_commented() { # file line
  [[ $(sed -n "$2p" -- "$1") == '#staydown# '* ]] || problem "line $2 of $1 is not commented out"
}
check_down widget-daemon.socket
check_down widget-reconcile.timer
check_down widget-daemon.service
if ((problems)); then
  echo "staydown: the plan ran, but the check above failed; run staydown diagnose again" >&2
  exit 4
fi
say 'done: widget-daemon.service is down and every chosen source is neutralised'
