"""Print the layer-kind tables of docs/layer-model.md from cami_atlas.schema.SCHEMAS.

Run from the project root and paste the output into docs/layer-model.md::

    .venv/bin/python docs/tools/schema_tables.py > /tmp/schema_tables.md
"""

from __future__ import annotations

from cami_atlas.schema import ATTRIBUTE_ALIASES, KINDS, SCHEMAS


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def kind_table(kind: str) -> str:
    schema = SCHEMAS[kind]
    lines = [f"### `{kind}`", "", schema.description, ""]
    geoms = ", ".join(schema.geometry_types) or "(raster: a `cami_atlas.raster.Grid`)"
    lines.append(f"Geometry types: {geoms}.")
    lines.append("")
    if not schema.columns:
        return "\n".join(lines)
    lines += ["| column | type | required | may be empty | allowed values | description |",
              "|---|---|---|---|---|---|"]
    for col in schema.columns:
        allowed = "; ".join(f"`{v}`" for v in col.allowed) if col.allowed else ""
        lines.append(
            f"| `{col.name}` | {col.dtype} | {'yes' if col.required else 'no'} | "
            f"{'yes' if col.nullable else 'no'} | {_cell(allowed)} | {_cell(col.description)} |")
    return "\n".join(lines)


def alias_table() -> str:
    lines = ["| column | you may type → stored as |", "|---|---|"]
    for column, aliases in ATTRIBUTE_ALIASES.items():
        targets: dict[str, list[str]] = {}
        for typed, value in aliases.items():
            targets.setdefault(value, []).append(f"`{typed}`")
        pairs = "; ".join(f"{', '.join(t)} → `{_cell(v)}`" for v, t in targets.items())
        lines.append(f"| `{column}` | {pairs} |")
    return "\n".join(lines)


def main() -> None:
    for kind in KINDS:
        print(kind_table(kind))
        print()
    print("### Aliases")
    print()
    print(alias_table())


if __name__ == "__main__":
    main()
