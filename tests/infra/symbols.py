"""Bicep declarations and the symbols each one references, read from the source text.

What `bicep build` checks before anything reaches Azure, done here without the CLI: a
declaration (param, var, resource, module, output, type, func) that refers to itself through
others is error BCP080 ("The expression is involved in a cycle"); one that refers to itself
directly is BCP079. Bicep counts every symbol named anywhere in a declaration: both branches of
`?:`, a `dependsOn` entry, a `scope:`/`parent:`, an `existing` resource's name, a decorator.

pycep is not used here: it renders a string literal and an identifier alike ('rg' and rg), so a
literal equal to a symbol name would invent a dependency. This module tokenizes instead: string
literals (but not their `${...}` interpolations), comments, object keys (`key:` at the start of a
line or after `{`/`,`), property names after `.`/`.?`/`::`, function names before `(` and
loop/lambda variables are not references; a spread (`...x`) is.

A nested resource (`resource child '...' = {...}` inside its parent's body) is its own node,
`parent::child`, as in Bicep; the parent's node does not include the child's body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

KEYWORDS = (
    "param",
    "var",
    "resource",
    "module",
    "output",
    "type",
    "func",
    "import",
    "extension",
    "metadata",
    "targetScope",
    "using",
)
# Declarations whose names other declarations can refer to (outputs cannot be referenced).
REFERABLE = ("param", "var", "resource", "module", "type", "func", "import")

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PUNCT = (
    "...",
    "::",
    ".?",
    "?.",
    "=>",
    "==",
    "!=",
    "<=",
    ">=",
    "&&",
    "||",
    "??",
    "?",
    ".",
    ":",
    ",",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "@",
    "=",
    "!",
    "<",
    ">",
    "+",
    "-",
    "*",
    "/",
    "%",
    "|",
)


class LexError(ValueError):
    """The source is not Bicep this tokenizer can read (unterminated string or comment)."""


@dataclass(frozen=True)
class Token:
    kind: str  # ident | punct | newline | string | number
    value: str
    line: int


@dataclass
class Declaration:
    kind: str
    name: str
    line: int
    tokens: list[Token] = field(default_factory=list)
    references: set[str] = field(default_factory=set)
    header: int = 0  # index in tokens where the text after `keyword name` starts (decorators before)

    def required_param(self) -> bool:
        """A `param` without a default value whose type is not nullable (`string?`)."""
        assert self.kind == "param", self
        depth = 0
        last = None
        for tok in self.tokens[self.header :]:
            if tok.kind == "newline" and depth == 0:
                break
            if tok.kind == "punct" and tok.value in "{[(":
                depth += 1
            elif tok.kind == "punct" and tok.value in "}])":
                depth -= 1
            elif depth == 0 and tok.value == "=":
                return False
            last = tok
        return not (last is not None and last.value == "?")


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    _lex(source, 0, 1, tokens, stop_at_brace=False)
    return tokens


def _lex(src: str, pos: int, line: int, out: list[Token], stop_at_brace: bool) -> tuple[int, int]:
    """Lex from pos; inside an interpolation stop at its closing brace. Returns (pos, line)."""
    depth = 0
    n = len(src)
    while pos < n:
        ch = src[pos]
        if ch == "\n":
            out.append(Token("newline", "\n", line))
            line += 1
            pos += 1
        elif ch in " \t\r":
            pos += 1
        elif src.startswith("//", pos):
            end = src.find("\n", pos)
            pos = n if end < 0 else end
        elif src.startswith("/*", pos):
            end = src.find("*/", pos + 2)
            if end < 0:
                raise LexError(f"line {line}: unterminated /* comment")
            line += src.count("\n", pos, end)
            pos = end + 2
        elif src.startswith("'''", pos):
            end = src.find("'''", pos + 3)
            if end < 0:
                raise LexError(f"line {line}: unterminated ''' string")
            out.append(Token("string", "'''", line))
            line += src.count("\n", pos, end)
            pos = end + 3
        elif ch == "'":
            out.append(Token("string", "'", line))
            pos, line = _string(src, pos + 1, line, out)
        elif ch.isdigit():
            m = re.compile(r"\d+").match(src, pos)
            assert m is not None
            out.append(Token("number", m.group(), line))
            pos = m.end()
        elif (m := _IDENT.match(src, pos)) is not None:
            out.append(Token("ident", m.group(), line))
            pos = m.end()
        else:
            punct = next((p for p in _PUNCT if src.startswith(p, pos)), None)
            if punct is None:
                raise LexError(f"line {line}: unexpected character {ch!r}")
            if stop_at_brace and punct == "}" and depth == 0:
                return pos + 1, line
            if punct == "{":
                depth += 1
            elif punct == "}":
                depth -= 1
            out.append(Token("punct", punct, line))
            pos += len(punct)
    if stop_at_brace:
        raise LexError(f"line {line}: unterminated ${{...}}")
    return pos, line


def _string(src: str, pos: int, line: int, out: list[Token]) -> tuple[int, int]:
    """A single-quoted string from just after its quote: literal text is dropped, each ${...}
    is lexed as an expression (bracketed by parentheses so it stays one operand)."""
    n = len(src)
    while pos < n:
        ch = src[pos]
        if ch == "\\":
            pos += 2
        elif ch == "'":
            return pos + 1, line
        elif ch == "\n":
            raise LexError(f"line {line}: newline in a '...' string")
        elif src.startswith("${", pos):
            out.append(Token("punct", "(", line))
            pos, line = _lex(src, pos + 2, line, out, stop_at_brace=True)
            out.append(Token("punct", ")", line))
        else:
            pos += 1
    raise LexError(f"line {line}: unterminated string")


def declarations(source: str) -> list[Declaration]:
    """Top-level declarations (decorators included) and nested resources, with their references."""
    tokens = tokenize(source)
    decls: list[Declaration] = []
    pending: list[Token] = []  # decorators waiting for their declaration
    current: Declaration | None = None
    depth = 0
    at_line_start = True
    skip_name = False
    for i, tok in enumerate(tokens):
        if tok.kind == "newline":
            at_line_start = True
            if current is not None:
                current.tokens.append(tok)
            continue
        if depth == 0 and at_line_start and tok.kind == "ident" and tok.value in KEYWORDS:
            name = _declared_name(tokens, i)
            current = Declaration(tok.value, name, tok.line, tokens=[*pending], header=len(pending))
            pending = []
            decls.append(current)
            at_line_start = False
            skip_name = not name.startswith("<")
            continue
        if skip_name:
            skip_name = False  # the declared name itself is not a reference
            continue
        if depth == 0 and at_line_start and tok.value == "@":
            current = None
        if tok.kind == "punct" and tok.value in "{[(":
            depth += 1
        elif tok.kind == "punct" and tok.value in "}])":
            depth -= 1
        at_line_start = False
        if current is None:
            pending.append(tok)
        else:
            current.tokens.append(tok)
    out: list[Declaration] = []
    for decl in decls:
        if decl.kind == "resource":
            out.extend(_split_nested(decl))
        else:
            out.append(decl)
    symbols = {d.name for d in out if d.kind in REFERABLE}
    for decl in out:
        decl.references = _references(decl, symbols)
    return out


def _declared_name(tokens: list[Token], i: int) -> str:
    keyword = tokens[i].value
    nxt = tokens[i + 1] if i + 1 < len(tokens) else None
    if keyword in ("import", "extension", "metadata", "targetScope", "using") or nxt is None or nxt.kind != "ident":
        return f"<{keyword}@{tokens[i].line}>"
    return nxt.value


def _split_nested(decl: Declaration) -> list[Declaration]:
    """A resource and the resources declared inside its body, as separate declarations."""
    own: list[Token] = []
    nested: list[Declaration] = []
    toks = decl.tokens
    depth = 0
    i = 0
    line_start = False
    while i < len(toks):
        tok = toks[i]
        if (
            depth >= 1
            and line_start
            and tok.kind == "ident"
            and tok.value == "resource"
            and i + 1 < len(toks)
            and toks[i + 1].kind == "ident"
        ):
            start_depth, j, opened = depth, i, False
            child = Declaration("resource", f"{decl.name}::{toks[i + 1].value}", tok.line)
            while j < len(toks):
                t = toks[j]
                if t.kind == "punct" and t.value in "{[(":
                    depth += 1
                    opened = True
                elif t.kind == "punct" and t.value in "}])":
                    depth -= 1
                if t.kind == "newline" and opened and depth == start_depth:
                    break
                child.tokens.append(t)
                j += 1
            # the child's own tokens start after `resource name`
            child.tokens = child.tokens[2:]
            nested.extend(_split_nested(child))
            i = j
            continue
        line_start = tok.kind == "newline"
        if tok.kind == "punct" and tok.value in "{[(":
            depth += 1
        elif tok.kind == "punct" and tok.value in "}])":
            depth -= 1
        own.append(tok)
        i += 1
    decl.tokens = own
    return [decl, *nested]


def _locals(tokens: list[Token]) -> set[str]:
    """Loop and lambda variables introduced inside a declaration."""
    names: set[str] = set()
    for i, tok in enumerate(tokens):
        if tok.kind == "ident" and tok.value == "for":
            j = i + 1
            while j < len(tokens) and not (tokens[j].kind == "ident" and tokens[j].value == "in"):
                if tokens[j].kind == "ident":
                    names.add(tokens[j].value)
                j += 1
        if tok.value == "=>":
            j = i - 1
            if j >= 0 and tokens[j].kind == "ident":
                names.add(tokens[j].value)
            elif j >= 0 and tokens[j].value == ")":
                while j >= 0 and tokens[j].value != "(":
                    if tokens[j].kind == "ident":
                        names.add(tokens[j].value)
                    j -= 1
    return names


def _references(decl: Declaration, symbols: set[str]) -> set[str]:
    toks = decl.tokens
    local = _locals(toks)
    refs: set[str] = set()
    for i, tok in enumerate(toks):
        if tok.kind != "ident":
            continue
        prev = toks[i - 1] if i > 0 else None
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if prev is not None and prev.kind == "punct" and prev.value in (".", "::", "?.", ".?"):
            continue
        if (
            nxt is not None
            and nxt.kind == "punct"
            and nxt.value == ":"
            and (prev is None or prev.kind == "newline" or prev.value in ("{", ","))
        ):
            continue  # object key
        if nxt is not None and nxt.kind == "punct" and nxt.value == "(":
            continue  # function call (sys/az functions; user funcs are not used here)
        if tok.value in local:
            continue
        if tok.value in symbols:
            refs.add(tok.value)
    refs.discard(decl.name)
    return refs


def graph(source: str) -> dict[str, set[str]]:
    """Referable declaration name -> the referable declarations it names (outputs included as
    sources, prefixed `output:`)."""
    result: dict[str, set[str]] = {}
    for decl in declarations(source):
        key = decl.name if decl.kind in REFERABLE else f"{decl.kind}:{decl.name}"
        result.setdefault(key, set()).update(decl.references)
    return result


def cycles(source: str) -> list[list[str]]:
    """Each cycle among the declarations (one per strongly connected component), as a path that
    starts and ends at the same name, e.g. ['api', 'productSettings', 'cosmos', 'api']."""
    g = graph(source)
    found: list[list[str]] = []
    for component in _strongly_connected(g):
        if len(component) > 1:
            found.append(_cycle_path(g, component))
    return found


def _strongly_connected(g: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[set[str]] = []
    counter = 0
    for root in sorted(g):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(g.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            if children:
                child = children.pop(0)
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, sorted(g.get(child, ()))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: set[str] = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                result.append(component)
    return result


def _cycle_path(g: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest cycle through the component's first member (breadth-first within it)."""
    start = sorted(component)[0]
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt: list[str] = []
        for node in frontier:
            for child in sorted(g.get(node, ())):
                if child not in component:
                    continue
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start] if len(path) > 1 else [start, node, start]
                if child not in previous:
                    previous[child] = node
                    nxt.append(child)
        frontier = nxt
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover - an SCC always has one


def file_cycles(path: Path) -> list[list[str]]:
    return cycles(path.read_text(encoding="utf-8"))
