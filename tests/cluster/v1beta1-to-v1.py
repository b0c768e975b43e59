#!/usr/bin/env python3
"""Rewrite apps/v1beta1 StatefulSets in a multi-document YAML file as apps/v1.

Why: the tutorial manifest fixtures/seeds/web.yaml uses apps/v1beta1, which the API server
stopped serving in 1.16. apps/v1 differs for these manifests in one way that matters:
spec.selector is required (v1beta1 defaulted it from the pod template labels). So this
sets apiVersion: apps/v1 and, when spec.selector is absent, inserts
spec.selector.matchLabels = spec.template.metadata.labels. Everything else is copied
byte for byte. Text based on purpose (no PyYAML needed): it understands block-style YAML
with 2-space indentation, which is what the fixtures use, and fails loudly otherwise.

Usage: v1beta1-to-v1.py FILE > converted.yaml
"""
import re
import sys


def convert(doc: str) -> str:
    if not re.search(r"^apiVersion:\s*apps/v1beta1\s*$", doc, re.M):
        return doc
    if not re.search(r"^kind:\s*StatefulSet\s*$", doc, re.M):
        sys.exit("v1beta1-to-v1: only StatefulSet is converted; found another apps/v1beta1 kind")
    lines = doc.split("\n")
    out = [re.sub(r"^apiVersion:\s*apps/v1beta1", "apiVersion: apps/v1", l) for l in lines]
    if any(re.match(r"^  selector:", l) for l in out):
        return "\n".join(out)
    # find spec.template.metadata.labels (indent 2 / 4 / 6, label lines at 8)
    labels, state = [], 0
    for l in out:
        if state == 0 and re.match(r"^spec:\s*$", l):
            state = 1
        elif state == 1 and re.match(r"^  template:\s*$", l):
            state = 2
        elif state == 2 and re.match(r"^    metadata:\s*$", l):
            state = 3
        elif state == 3 and re.match(r"^      labels:\s*$", l):
            state = 4
        elif state == 4:
            m = re.match(r"^        ([^\s#][^:]*):\s*(\S.*)$", l)
            if m:
                labels.append((m.group(1), m.group(2)))
            else:
                break
    if not labels:
        sys.exit("v1beta1-to-v1: no spec.template.metadata.labels to derive spec.selector from")
    spec = next(i for i, l in enumerate(out) if re.match(r"^spec:\s*$", l))
    sel = ["  selector:", "    matchLabels:"] + [f"      {k}: {v}" for k, v in labels]
    return "\n".join(out[: spec + 1] + sel + out[spec + 1 :])


def main() -> None:
    text = open(sys.argv[1]).read()
    docs = re.split(r"(?m)^---[ \t]*$", text)
    sys.stdout.write("---".join(convert(d) for d in docs))


if __name__ == "__main__":
    main()
