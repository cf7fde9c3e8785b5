#!/bin/bash
# Build every model of /tmp/csub once with TensorRT-RTX, saving the log (scored later offline).
cd /work/main
python3 -c "
import json; m=json.load(open('/root/.cache/fusionlab/corpus/manifest.json')); m=m if isinstance(m,list) else m['models']
for i in m: print(i['file'].split('/')[-1][:-5], i['precision'])
" > /tmp/fid/precisions.txt
for f in /tmp/csub/*.onnx; do
  n=$(basename $f .onnx); [ -f /tmp/fid/logs/$n.log ] && continue
  p=$(awk -v n=$n '$1==n{print $2}' /tmp/fid/precisions.txt)
  flag=""; [ "$p" = "int8" ] && flag="--int8"; [ "$p" = "fp16" ] && flag="--fp16"
  start=$(date +%s)
  nice -n 19 timeout 900 .venv/bin/fusionlab verify $f --target tensorrt-rtx --save-log /tmp/fid/logs/$n.log --format json > /tmp/fid/new/$n.json 2> /tmp/fid/new/$n.err
  echo "$n $p exit=$? $(( $(date +%s) - start ))s" >> /tmp/fid/build.txt
done
echo DONE >> /tmp/fid/build.txt
