#!/bin/bash
for f in /tmp/csub/*.onnx; do
  n=$(basename $f .onnx); log=/tmp/fid/logs/$n.log; [ -s $log ] || continue
  p=$(awk -v n=$n '$1==n{print $2}' /tmp/fid/precisions.txt)
  prec=fp32; [ "$p" = "int8" ] && prec=int8; [ "$p" = "fp16" ] && prec=fp16
  cd /work/main && .venv/bin/python -m fusionlab.cli verify $f --target tensorrt-rtx --precision $prec --log $log --format json > /tmp/fid/new/$n.score.json 2>/dev/null
  cd /tmp/oldfl && PYTHONPATH=/tmp/oldfl /work/main/.venv/bin/python -m fusionlab.cli verify $f --target tensorrt-rtx --precision $prec --log $log --format json > /tmp/fid/old/$n.score.json 2>/dev/null
done
echo DONE > /tmp/fid/score.done
