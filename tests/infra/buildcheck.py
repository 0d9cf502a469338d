"""What `bicep build` refuses before a template reaches Azure, for machines without the Bicep CLI.

  - BCP080/BCP079: a declaration involved in a dependency cycle (symbols.py finds them);
  - BCP037: a module call passing a parameter the module does not declare;
  - BCP035: a module call missing a parameter the module requires (no default, not nullable);
  - BCP088: a literal string for a module parameter outside that parameter's @allowed list;
  - a parameters file (main.parameters.json) setting a parameter the template does not declare,
    leaving a required one unset, or defaulting (azd's ${NAME=default}) to a value outside @allowed.
Resource bodies against the official types: typecheck.py.
`make lint` still runs the real `bicep build`/`bicep lint` where the CLI exists (infra/infra.mk).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from . import bicep, symbols

_AZD_DEFAULT = re.compile(r"^\$\{(\w+)(?:=(.*))?\}$")


def cycle_errors(path: Path) -> list[str]:
    return [
        # Bicep's wording (https://aka.ms/bicep/core-diagnostics#BCP080); the path returns to its start
        f"{path.name}: BCP080: The expression is involved in a cycle ("
        + " -> ".join(f'"{name}"' for name in cycle[:-1])
        + f'), back to "{cycle[0]}"'
        for cycle in symbols.file_cycles(path)
    ]


def declared_parameters(path: Path) -> dict[str, dict[str, Any]]:
    """name -> {"required": bool, "allowed": list | None} of a .bicep file's parameters."""
    decls = {d.name: d for d in symbols.declarations(path.read_text(encoding="utf-8")) if d.kind == "param"}
    parsed = bicep.parse(path).get("parameters") or {}
    out: dict[str, dict[str, Any]] = {}
    for name, decl in decls.items():
        allowed = next(
            (d["argument"] for d in parsed.get(name, {}).get("decorators", ()) if d.get("type") == "allowed"), None
        )
        out[name] = {"required": decl.required_param(), "allowed": allowed}
    return out


def _module_body(config: Any) -> Any:
    while isinstance(config, dict) and "config" in config and ("condition" in config or "loop_type" in config):
        config = config["config"]
    return config


def module_errors(path: Path) -> list[str]:
    doc = bicep.parse(path)
    scope = set()
    for kind in ("parameters", "variables", "resources", "modules"):
        scope |= set(doc.get(kind) or {})
    errors: list[str] = []
    for name, module in (doc.get("modules") or {}).items():
        target_rel = module.get("detail", {}).get("path", "")
        if module.get("type") != "local":
            continue  # registry (br:) and template spec (ts:) modules: not readable offline
        target = (path.parent / target_rel).resolve()
        where = f"{path.name}: module {name} '{target_rel}'"
        if not target.is_file():
            errors.append(f"{where}: BCP091 file not found")
            continue
        body = _module_body(module.get("config"))
        params = body.get("params") if isinstance(body, dict) else None
        if params is None:
            params = {}
        if (
            not isinstance(params, dict)
            or isinstance(params.get("function"), dict)
            or isinstance(params.get("operator"), dict)
        ):
            continue  # params built by an expression: not judged
        declared = declared_parameters(target)
        given = {k[1:-1] if k.startswith("'") else k: v for k, v in params.items()}
        for key in sorted(set(given) - set(declared)):
            errors.append(
                f"{where}: BCP037: the property '{key}' is not allowed: {target_rel} declares no parameter '{key}'"
            )
        for key in sorted(p for p, spec in declared.items() if spec["required"] and p not in given):
            errors.append(f"{where}: BCP035: the required parameter '{key}' of {target_rel} is missing")
        for key, value in given.items():
            allowed = declared.get(key, {}).get("allowed")
            if allowed and isinstance(value, str) and "${" not in value and value not in scope and value not in allowed:
                errors.append(f"{where}: BCP088: '{value}' for parameter '{key}' is none of {allowed}")
    return errors


def parameters_file_errors(template: Path, parameters_file: Path) -> list[str]:
    declared = declared_parameters(template)
    values = json.loads(parameters_file.read_text(encoding="utf-8")).get("parameters") or {}
    where = f"{parameters_file.name}"
    errors = [
        f"{where}: sets '{k}', which {template.name} does not declare" for k in sorted(set(values) - set(declared))
    ]
    errors += [
        f"{where}: no value for '{k}', which {template.name} requires"
        for k, s in sorted(declared.items())
        if s["required"] and k not in values
    ]
    for key, entry in values.items():
        allowed = declared.get(key, {}).get("allowed")
        value = entry.get("value") if isinstance(entry, dict) else None
        if not allowed or not isinstance(value, str):
            continue
        m = _AZD_DEFAULT.match(value)
        literal = m.group(2) if m else value  # azd's ${NAME=default}: the default; ${NAME}: unknown
        if literal is not None and literal not in [str(a) for a in allowed]:
            errors.append(f"{where}: '{key}' defaults to '{literal}', none of {allowed}")
    return errors
