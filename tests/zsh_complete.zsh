# zsh -f tests/zsh_complete.zsh FPATH_DIR WORDS: print, one a line, the matches zsh's
# completion system offers when Tab is pressed after WORDS.
#
# An interactive zsh runs in a pseudo-terminal (zsh/zpty) with compinit and the
# completion function from FPATH_DIR; compadd is wrapped to print every match it adds,
# between markers that the completion system's pre and post hooks print.
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PROMPT='' RPROMPT='' PS2=''"
zpty -w z "fpath=(${(q)1} \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w z "zstyle ':completion:*' list-grouped false; zstyle ':completion:*' insert-tab false"
zpty -w z "zstyle ':completion:*' list-separator ''; zstyle ':completion:*' group-name ''"
# The terminal echoes what is typed, so the markers are printed as "BEGIN""-MATCHES": only
# the output, never the echo, contains BEGIN-MATCHES. (No comments inside the strings
# below: an interactive zsh does not take them.)
# compadd with -O, -A or -D only fills an array and adds no match: pass it through.
zpty -w z 'compadd () {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi
  typeset -a __hits
  builtin compadd -A __hits "$@"
  local hit; for hit in $__hits; do print -r -- "HIT"":$hit"; done
  builtin compadd "$@"
}'
zpty -w z 'start () { print -r -- "BEGIN""-MATCHES" }'
zpty -w z 'finish () { print -r -- "END""-MATCHES"; compstate[insert]=""; compstate[list]="" }'
zpty -w z 'compprefuncs=( start ); comppostfuncs=( finish )'
zpty -w z "bindkey '^I' complete-word"
shift
zpty -n -w z "${*}"$'\t'
integer on=0
local line
while zpty -r z line; do
  line=${line//$'\r'/}
  [[ $line == *BEGIN-MATCHES* ]] && { on=1; continue }
  [[ $line == *END-MATCHES* ]] && break
  (( on )) && [[ $line == HIT:* ]] && print -r -- ${${line#HIT:}%$'\n'}
done
zpty -d z
