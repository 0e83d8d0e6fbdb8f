#!/bin/bash
# cpu.sh PID LABEL: prints the backend's CPU (user+sys, s) since the last call with the same PID
t=$(sed 's/^.*) //' /proc/$1/stat | awk '{print $12+$13}')
f=./cpu-last.$1
if [ -f $f ]; then echo "$2: $(echo "scale=2; ($t - $(cat $f)) / $(getconf CLK_TCK)" | bc) s"; fi
echo $t > $f
