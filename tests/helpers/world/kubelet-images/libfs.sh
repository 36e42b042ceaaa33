#!/bin/bash
# The one function of Bitnami's libfs.sh the chart's MySQL init container calls.
is_dir_empty() {
  local dir=$1
  [[ ! -e $dir ]] || [[ -z "$(ls -A "$dir")" ]]
}
