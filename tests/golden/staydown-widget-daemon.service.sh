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
# What it will do, in order (side effects: other units a change takes down
# or keeps from starting):
#   1. stop widget-daemon.socket
#   2. stop widget-reconcile.timer
#   3. stop widget-daemon.service itself
#
# Run as root:  bash <this file> [--force]
# Undo:         bash staydown-widget-daemon.service.undo.sh
# Exit status:  0 done and verified    1 a step failed or not root
#               2 bad arguments        3 the host changed since the plan (--force)
#               4 done, but the final check found something running or not in place
#               5 refused: a unit the host needs, which the plan does not name
set -euo pipefail
export LC_ALL=C SYSTEMD_PAGER='' SYSTEMD_COLORS=0

readonly PLAN_ID=<plan-id>
readonly RECORD=/var/lib/staydown/<plan-id>.done
readonly LINKS=/var/lib/staydown/<plan-id>.links
readonly ACTIVE=/var/lib/staydown/<plan-id>.active
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

# -- The host's own machinery (docs/safety.md) --------------------------------
# The plan leaves these units alone unless the operator named them; checked
# again here, before each change, in case this file was edited or the host
# changed (an alias, an ssh session, the unit this script runs in).
readonly -a ALLOWED=()
own_units=()
while IFS= read -r line; do
  IFS=/ read -ra parts <<<"${line#*:*:}"
  for part in "${parts[@]}"; do
    [[ $part == *.service || $part == *.scope ]] && own_units+=("$part")
  done
done </proc/self/cgroup
in_ssh_session() {
  local pid=$$ comm stat
  [[ -n ${SSH_CONNECTION:-} ]] && return 0
  # sudo drops SSH_CONNECTION; an sshd among the ancestors still tells.
  while ((pid > 1)); do
    comm=$(<"/proc/$pid/comm") 2>/dev/null || return 1
    [[ $comm == sshd* ]] && return 0
    stat=$(<"/proc/$pid/stat") 2>/dev/null || return 1
    stat=${stat##*) }
    read -r _ pid _ <<<"$stat"
  done
  return 1
}
ssh_session=0
if in_ssh_session; then ssh_session=1; fi
unit_names() { # unit: its name and every alias systemd knows, one per line
  local names=()
  read -ra names <<<"$(systemctl show -P Names -- "$1" 2>/dev/null || true)"
  printf '%s\n' "$1" "${names[@]}"
}
protected_why() { # unit: why it is the host's own machinery; nothing when it is not
  local name own
  while IFS= read -r name; do
    case $name in
      init.scope | -.slice | system.slice | -.mount) printf '%s\n' 'PID 1'"'"'s own unit (init.scope), the root slice and mount, or the slice every service runs in: stopping it stops the system'; return 0 ;;
      dbus.service | dbus.socket | dbus-broker.service | messagebus.service) printf '%s\n' 'the system bus: systemctl, logind, polkit and every D-Bus service depend on it'; return 0 ;;
      systemd-journald.service | systemd-journald*.socket | systemd-journald@*.service) printf '%s\n' 'the journal and its sockets: every unit'"'"'s logging goes through it'; return 0 ;;
      systemd-logind.service | dbus-org.freedesktop.login1.service) printf '%s\n' 'the login manager: sessions, seats and logins'; return 0 ;;
      systemd-udevd.service | udev.service | systemd-udevd-*.socket) printf '%s\n' 'the device manager and its sockets: device units, module loading and hot-plug'; return 0 ;;
      console-getty.service | getty@*.service | serial-getty@*.service | autovt@*.service | container-getty@*.service | getty-static.service) printf '%s\n' 'the console and the login prompts: the way back in when the network is gone'; return 0 ;;
      sysinit.target | basic.target | sockets.target | timers.target | paths.target | local-fs.target | local-fs-pre.target | remote-fs.target | remote-fs-pre.target | multi-user.target | graphical.target | default.target | emergency.target | rescue.target | shutdown.target | reboot.target | poweroff.target | halt.target | kexec.target | final.target | umount.target | slices.target | swap.target | getty.target | network.target | network-online.target | network-pre.target | cryptsetup.target | ctrl-alt-del.target | initrd.target | runlevel*.target) printf '%s\n' 'a basic target: the boot'"'"'s synchronisation points, whose stop stops whatever is part of them'; return 0 ;;
    esac
    if ((ssh_session)); then
      case $name in
        ssh.service | sshd.service | ssh.socket | sshd.socket | ssh@*.service | sshd@*.service) printf '%s\n' 'the ssh server this session came in through: stopping it can lock you out'; return 0 ;;
      esac
    fi
    for own in "${own_units[@]}"; do
      [[ $name == "$own" ]] && { printf '%s\n' 'the unit or scope that runs staydown itself'; return 0; }
    done
  done < <(unit_names "$1")
  return 0
}
is_allowed() { # unit: named by the operator, under any of its names
  local name allowed
  while IFS= read -r name; do
    for allowed in "${ALLOWED[@]}"; do
      [[ $name == "$allowed" ]] && return 0
    done
  done < <(unit_names "$1")
  return 1
}
guard() { # unit: exit 5 unless it is no protected unit, or one the plan names
  local why
  why=$(protected_why "$1")
  [[ -z $why ]] && return 0
  is_allowed "$1" && return 0
  printf 'staydown: REFUSED: %s is part of the host'"'"'s own machinery (%s), and this plan does not name it; nothing more is changed\n' "$1" "$why" >&2
  exit 5
}

stop_unit() { # id unit
  local attempt
  guard "$2"
  if ! is_running "$2"; then
    say "$2 is already stopped"
    return 0
  fi
  note "$1 stop"  # usually recorded already, before the first change (below)
  say "stopping $2"
  # A start request that arrives meanwhile (a source left firing, a held unit's
  # trigger) replaces the stop job, and a stop job can fail (a busy mount): either
  # way systemctl fails and the unit still runs. Try again, then say which it is not.
  for attempt in 1 2 3; do
    systemctl stop -- "$2" && return 0
    is_running "$2" || return 0
    say "$2 still runs after systemctl stop: its stop job failed or a start request replaced it (try $attempt of 3)"
    sleep 1
  done
  fail "could not stop $2 (journalctl -u $2 says why)"
}
mask_unit() { # id unit [--runtime]
  local state
  guard "$2"
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
  guard "$2"
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
  guard "$2"
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

# Every unit this plan changes, checked against the host's own machinery
# before the first change: a refusal here changes nothing.
guard widget-daemon.socket
guard widget-reconcile.timer
guard widget-daemon.service

# Which units are active now, in the whole manager, recorded before anything
# changes: stopping or masking one unit can take others down with it (units
# that Requires= it, an automount's mount, a masked timer's service), and the
# undo starts again every one of them that is down then. Not overwritten by a
# second run, which would see the plan's own result.
if [[ ! -f $ACTIVE ]]; then
  mkdir -p -- "${ACTIVE%/*}"
  active_tmp=$(mktemp -- "$ACTIVE.XXXXXX")
  systemctl list-units --all --plain --no-legend --full --state=active |
    while read -r unit _; do printf '%s\n' "$unit"; done >"$active_tmp"
  mv -f -- "$active_tmp" "$ACTIVE"
  sync -- "$ACTIVE" 2>/dev/null || true
fi
# And which of the plan's own units run now (the undo starts those in the
# plan's order), written in one go: a run killed in the middle of a list
# written line by line would leave the undo stopping half of them and not the
# rest (a socket stopped while its service runs cannot start again).
running_before=''
if is_running widget-daemon.socket && ! did 'a1 stop'; then running_before+='a1 stop'$'\n'; fi
if is_running widget-reconcile.timer && ! did 'a2 stop'; then running_before+='a2 stop'$'\n'; fi
if is_running widget-daemon.service && ! did 'a3 stop'; then running_before+='a3 stop'$'\n'; fi
if [[ -n $running_before ]]; then
  mkdir -p -- "${RECORD%/*}"
  printf '%s' "$running_before" >>"$RECORD"
  sync -- "$RECORD" 2>/dev/null || true
fi

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
#   widget-reconcile.timer: next elapse 2026-12-02 10:55:48 UTC (4s from the
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
