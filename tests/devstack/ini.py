# SPDX-License-Identifier: Apache-2.0

"""devstack's iniset and iniset_multiline, for the plugin tests' stubs.

``python ini.py set FILE SECTION OPTION VALUE...``: one value replaces
every line of the option in the section (iniset); several values give one
line each (iniset_multiline). Comments and other lines are kept.
"""

import sys


def iniset(path: str, section: str, option: str, values: list[str]) -> None:
    try:
        with open(path, encoding='utf-8') as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        lines = []
    new = ['%s = %s' % (option, v) for v in values]
    out, current, placed = [], None, False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith('[') and stripped.endswith(']'):
            if current == section and not placed:
                out += new
                placed = True
            current = stripped[1:-1]
        elif (current == section and '=' in stripped and
              stripped.split('=', 1)[0].strip() == option):
            if not placed:
                out += new
                placed = True
            continue
        out.append(line)
    if not placed:
        if current != section:
            if section not in [ln.strip()[1:-1] for ln in lines
                               if ln.strip().startswith('[')]:
                out.append('[%s]' % section)
                out += new
            else:  # pragma: no cover - sections are contiguous here
                raise SystemExit('section %s split in %s' % (section, path))
        else:
            out += new
    with open(path, 'w', encoding='utf-8') as f:
        f.write('\n'.join(out) + '\n')


def parse(path: str) -> dict[str, dict[str, list[str]]]:
    """Section -> option -> values, as the tests read the files back."""
    result: dict[str, dict[str, list[str]]] = {}
    section = None
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            if line.startswith('['):
                section = line[1:-1]
                result.setdefault(section, {})
                continue
            key, value = (p.strip() for p in line.split('=', 1))
            result[section].setdefault(key, []).append(value)
    return result


if __name__ == '__main__':
    _cmd, path, section, option, *values = sys.argv[1:]
    iniset(path, section, option, values)
