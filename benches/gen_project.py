#!/usr/bin/env python3
"""Generate a synthetic reagent project shaped like real image families.

usage: gen_project.py DIR IMAGES

One numbered base, a few numbered build-deps images, then families: each
family has a root FROM base or a build-deps image, and leaves below it
(some multi-stage, some with COPY'd config files and an ARG-chosen parent).
Deterministic for a given IMAGES count.
"""
import os
import random
import sys


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def main():
    root, count = sys.argv[1], int(sys.argv[2])
    rng = random.Random(count)
    write(os.path.join(root, "graph.toml"),
          '[project]\nname = "synthetic"\n[portage]\nuse = ["ssl", "-X"]\n')
    names = []

    def image(name, text, files=()):
        folder = os.path.join(root, "images", name)
        write(os.path.join(folder, "Containerfile"), text)
        for rel, body in files:
            write(os.path.join(folder, rel), body)
        names.append(name)

    image("01-base", "FROM scratch\nCOPY rootfs.txt /etc/rootfs\n", [("rootfs.txt", "base\n")])
    deps = []
    for i in range(max(1, min(8, count // 100))):
        if len(names) >= count:
            break
        image(f"02-build-deps-{i}", f"FROM base\nRUN emerge --onlydeps group-{i}\n")
        deps.append(f"build-deps-{i}")
    fam = 0
    while len(names) < count:
        parent = rng.choice(["base"] + deps)
        root_name = f"family{fam}"
        image(root_name, f"FROM {parent}\nARG FLAVOUR=plain\nRUN emerge family-{fam}\n")
        for leaf in range(rng.randint(3, 20)):
            if len(names) >= count:
                break
            name = f"family{fam}-leaf{leaf}"
            kind = rng.random()
            if kind < 0.2:
                text = (f"FROM {parent} AS builder\nRUN make -C /src/{name}\n"
                        f"FROM {root_name}\nCOPY --from=builder /out /usr/local/\n")
                image(name, text)
            elif kind < 0.6:
                text = (f"ARG PARENT={root_name}\nFROM localhost/${{PARENT}}:latest\n"
                        f"COPY conf/ /etc/{name}/\nRUN rc-update add {name} default\n"
                        f'LABEL org.reagent.test="test -d /etc/{name}"\n')
                image(name, text, [(f"conf/{name}.conf", f"name={name}\nport={8000 + leaf}\n"),
                                   ("conf/common.conf", "log=stderr\n")])
            else:
                image(name, f"FROM {root_name}\nRUN emerge {name}\nCMD [\"/usr/bin/{name}\"]\n")
        fam += 1


if __name__ == "__main__":
    main()
