#!/usr/bin/env bash
# staydown 0.1.0: undo plan <plan-id> for widget-daemon.service.
#
# Reverses exactly what staydown-widget-daemon.service.sh recorded in its record file, and
# nothing else: masks and holds are lifted, removed links put back, cron lines
# restored, then the units it stopped are started again, and with them every
# unit that was active before the plan ran and is down now (the units a stop
# took down with it). Running it twice, or after the plan was cut short, is
# safe: what was not done is not undone. It checks that every one of them is
# back, and names any that is not.
#
# Run as root:  bash <this file>
# Exit status:  0 undone (or nothing to undo)   1 a step failed, a unit did not
#               come back, or not root          2 bad arguments
set -euo pipefail
export LC_ALL=C SYSTEMD_PAGER='' SYSTEMD_COLORS=0

readonly RECORD=/var/lib/staydown/<plan-id>.done
readonly LINKS=/var/lib/staydown/<plan-id>.links
readonly ACTIVE=/var/lib/staydown/<plan-id>.active
readonly SETTLE_SECONDS="${STAYDOWN_SETTLE_SECONDS:-2}"

for arg in "$@"; do
  case $arg in
    -h | --help) printf 'usage: %s\n' "$0"; exit 0 ;;
    *) printf 'usage: %s\n' "$0" >&2; exit 2 ;;
  esac
done

if [[ $(id -u) -ne 0 ]]; then
  echo "staydown: this script changes systemd units; run it as root" >&2
  exit 1
fi

say() { printf 'staydown: %s\n' "$*"; }
did() { grep -Fxq -- "$1" "$RECORD"; }

if [[ ! -f $RECORD ]]; then
  # A run killed before its first change leaves only the list of active units.
  rm -f -- "$ACTIVE"
  say "nothing to undo: no record at $RECORD (the plan has not run, or was undone already)"
  exit 0
fi

reload=0
failed=0
restore_links() { # id
  local id path target
  [[ -f $LINKS ]] || return 0
  while IFS= read -r -d '' id && IFS= read -r -d '' path && IFS= read -r -d '' target; do
    [[ $id == "$1" ]] || continue
    [[ -L $path || -e $path ]] && continue
    mkdir -p -- "${path%/*}"
    ln -s -- "$target" "$path"
    say "restored $path"
    reload=1
  done <"$LINKS"
}
lift_mask() { # id unit [--runtime]
  did "$1 mask" || return 0
  say "unmasking $2"
  systemctl unmask ${3:+"$3"} -- "$2" || failed=1
}
lift_drop_in() { # id path
  did "$1 drop-in" || return 0
  rm -f -- "$2"
  rmdir --ignore-fail-on-non-empty -- "${2%/*}" 2>/dev/null || true
  say "removed $2"
  reload=1
}
is_running() {
  local state
  state=$(systemctl is-active -- "$1" 2>/dev/null) || true
  [[ $state == active || $state == activating || $state == reloading ]]
}
settle_down() { # id unit: a run cut short may have left it running
  did "$1 stop" && is_running "$2" || return 0
  systemctl stop -- "$2" || failed=1
}
start_again() { # id unit
  did "$1 stop" || return 0
  say "starting $2 (it was running before the plan)"
  systemctl start -- "$2" || failed=1
}
restore_active() { # start every unit active before the plan and down now; check them
  local unit triggers=() mounts=() services=() last=() started=() missing=()
  [[ -f $ACTIVE ]] || { say "no list of the units active before the plan ($ACTIVE)"; failed=1; return 0; }
  while IFS= read -r unit; do
    [[ -n $unit ]] || continue
    is_running "$unit" && continue
    # A transient unit (systemd-run, a session's scope) that has ended is
    # unloaded: there is nothing to start, and it is not ours to bring back.
    if [[ $(systemctl show -P LoadState -- "$unit" 2>/dev/null || true) == not-found ]]; then
      say "$unit is gone (a transient unit that ended): nothing to start"
      continue
    fi
    # Scopes and devices cannot be started by systemctl; the kernel and
    # whoever created them bring them.
    case $unit in
      *.scope | *.device) continue ;;
      # A socket refuses to start while its service runs, and an automount
      # while its mount is mounted: triggers come before what they trigger.
      *.socket | *.path | *.automount) triggers+=("$unit") ;;
      *.slice | *.mount | *.swap) mounts+=("$unit") ;;
      # A timer or target last: the units they start are in place by then.
      *.timer | *.target) last+=("$unit") ;;
      *) services+=("$unit") ;;
    esac
  done <"$ACTIVE"
  for unit in "${triggers[@]}" "${mounts[@]}" "${services[@]}" "${last[@]}"; do
    started+=("$unit")
    is_running "$unit" && continue  # an earlier start brought it back
    say "starting $unit (it was active before the plan ran)"
    systemctl start -- "$unit" || true
  done
  ((${#started[@]})) || return 0
  sleep "$SETTLE_SECONDS"
  for unit in "${started[@]}"; do
    is_running "$unit" || missing+=("$unit")
  done
  if ((${#missing[@]})); then
    printf 'staydown: NOT BACK: %s was active before the plan and is not now\n' "${missing[@]}" >&2
    failed=1
  fi
}
uncomment() { # file line
  local tmp
  [[ $(sed -n "$2p" -- "$1") == '#staydown# '* ]] || return 0
  tmp=$(mktemp -- "$1.staydown.XXXXXX")
  local number=0 line
  while IFS= read -r line || [[ -n $line ]]; do
    number=$((number + 1))
    if ((number == $2)) && [[ $line == '#staydown# '* ]]; then
      printf '%s\n' "${line#'#staydown# '}"
    else
      printf '%s\n' "$line"
    fi
  done <"$1" >"$tmp"
  chmod --reference="$1" -- "$tmp"
  chown --reference="$1" -- "$tmp"
  mv -f -- "$tmp" "$1"
  say "restored line $2 of $1"
}

# Lift what keeps units from starting, newest change first.
if ((reload)); then
  systemctl daemon-reload
fi

# Start again what the plan stopped, in the plan's order: a socket refuses to
# start while its service is already running, so sources go first. After a run
# that was cut short some of them still run; they are stopped first, so each
# comes back the way it was, and in the plan's order too: a timer left running
# while its unit is stopped can start that unit again in between, and then the
# socket in front of it refuses to start.
settle_down a1 widget-daemon.socket
settle_down a2 widget-reconcile.timer
settle_down a3 widget-daemon.service
start_again a1 widget-daemon.socket
start_again a2 widget-reconcile.timer
start_again a3 widget-daemon.service

# Then everything else that was active before the plan ran and is down now,
# and only those: what the stops took with them.
restore_active

if ((failed)); then
  echo "staydown: some steps failed (above); the record is kept, so this undo can run again" >&2
  exit 1
fi
rm -f -- "$RECORD" "$LINKS" "$ACTIVE"
say 'undone: what the plan changed for widget-daemon.service is back as it was'
