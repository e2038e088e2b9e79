"""The route tree: load and validate ``routes.yaml``, decide who hears about an issue. Pure Python.

Config shape (see ``ticket_dq/defs/routing/routes.yaml`` for the documented default)::

    route:                      # root: the catch-all, every issue matches it
      receiver: $team           # a team code, or $team = the issue's own team label
      group_by: [team, category]
      group_wait: 0s
      repeat_interval: 4h
      pending_for: 0s           # Alertmanager's `for:`: notify only once the issue held this long
      send_resolved: true       # a notified issue that is withdrawn / resolved sends a follow-up
      routes:                   # ordered; the first matching child wins ...
        - name: cs-orders-near-show
          match: {category: [ORDER_SHOW_CHANGED], severity: [P0, P1], hours_to_show_lte: 24}
          receiver: CS
          continue: true        # ... unless it says continue: true, then later siblings are tried too
          routes: [...]         # children refine further (same rules, recursively)
    teams:
      CS:
        ack_sla: 15m            # P0/P1 not acknowledged within this -> escalation
        escalate_to: [cs-lead@example.com]
        channels:
          - {type: file, recipients: [cs-duty@example.com]}
          - {type: smtp, recipients: [cs-duty@example.com]}
          - {type: webhook, recipients: [cs-oncall]}

A node with no matching child is itself the decision (Alertmanager semantics). Settings a child does
not give are inherited from its parent. Matchers: ``category``, ``severity``, ``source``, ``team`` (lists
of allowed values), ``affected_orders_gte`` (int), ``hours_to_show_lte`` / ``hours_to_show_gte`` (hours until the show,
negative once it started; an issue with no showtime never matches them). All given matchers must hold.

Every mistake fails at load with ``RouteConfigError("<file>:<line>: <what is wrong>")``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from ticket_dq.lib import contract

CHANNEL_TYPES = ("file", "smtp", "webhook")
ISSUE_FIELDS = ("category", "severity", "source", "team")
LIST_MATCHERS = {
    "category": contract.ISSUE_CATEGORIES,
    "severity": contract.SEVERITIES,
    "source": None,  # any partner / platform code
    "team": contract.TEAMS,
}
NUM_MATCHERS = ("affected_orders_gte", "hours_to_show_lte", "hours_to_show_gte")
GROUP_FIELDS = ("team", "category", "severity", "source", "cinema_code", "business_date", "route")
NODE_KEYS = {"name", "match", "receiver", "continue", "group_by", "group_wait", "repeat_interval", "routes",
             "pending_for", "send_resolved"}
TEAM_KEYS = {"ack_sla", "escalate_to", "channels"}
CHANNEL_KEYS = {"type", "recipients"}
SELF_TEAM = "$team"

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class RouteConfigError(ValueError):
    """routes.yaml is wrong; the message starts with ``file:line:``."""


@dataclass(frozen=True)
class Decision:
    """One receiver of one issue: the team, which route sent it there, how to group and repeat."""
    team: str
    route: str
    group_by: tuple[str, ...]
    group_wait_s: int
    repeat_interval_s: int
    pending_for_s: int = 0        # hold: notify only once the issue has been open this long
    send_resolved: bool = False   # tell the same recipients when a notified issue is withdrawn / resolved


@dataclass
class Route:
    name: str
    line: int
    list_match: dict[str, frozenset[str]] = field(default_factory=dict)
    affected_orders_gte: int | None = None
    hours_to_show_lte: float | None = None
    hours_to_show_gte: float | None = None
    receiver: str = SELF_TEAM
    cont: bool = False
    group_by: tuple[str, ...] = ("team",)
    group_wait_s: int = 0
    repeat_interval_s: int = 4 * 3600
    pending_for_s: int = 0
    send_resolved: bool = False
    routes: list["Route"] = field(default_factory=list)

    def matches(self, issue: Mapping[str, Any]) -> bool:
        for key, allowed in self.list_match.items():
            if issue.get(key) not in allowed:
                return False
        if self.affected_orders_gte is not None:
            n = issue.get("affected_orders")
            if n is None or n < self.affected_orders_gte:
                return False
        if self.hours_to_show_lte is not None or self.hours_to_show_gte is not None:
            h = issue.get("hours_to_show")
            if h is None:
                return False
            if self.hours_to_show_lte is not None and h > self.hours_to_show_lte:
                return False
            if self.hours_to_show_gte is not None and h < self.hours_to_show_gte:
                return False
        return True


@dataclass(frozen=True)
class Channel:
    type: str
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class Team:
    code: str
    ack_sla_s: int
    escalate_to: tuple[str, ...]
    channels: tuple[Channel, ...]


@dataclass
class RouteConfig:
    root: Route
    teams: dict[str, Team]
    path: str

    def decide(self, issue: Mapping[str, Any]) -> list[Decision]:
        """Receivers of ``issue`` (a mapping with category, severity, source, team, affected_orders,
        hours_to_show), in route order, one per distinct team."""
        out: list[Decision] = []
        _walk(self.root, issue, out)
        seen: set[str] = set()
        result = []
        for d in out:
            if d.team not in seen:
                seen.add(d.team)
                result.append(d)
        return result

    def route_named(self, name: str | None) -> Route | None:
        """The route node called ``name`` (notification rows remember the route that chose them)."""
        stack = [self.root]
        while stack:
            node = stack.pop()
            if node.name == name:
                return node
            stack.extend(node.routes)
        return None


def _walk(node: Route, issue: Mapping[str, Any], out: list[Decision]) -> bool:
    if not node.matches(issue):
        return False
    matched_child = False
    for child in node.routes:
        if _walk(child, issue, out):
            matched_child = True
            if not child.cont:
                break
    if not matched_child:
        team = issue.get("team") if node.receiver == SELF_TEAM else node.receiver
        if team:
            out.append(Decision(team, node.name, node.group_by, node.group_wait_s, node.repeat_interval_s,
                                node.pending_for_s, node.send_resolved))
    return True


# ---- loading with line numbers ---------------------------------------------------------------------

class _Loader(yaml.SafeLoader):
    """SafeLoader whose mappings remember the line of each key (1-based)."""


class _LineDict(dict):
    line: int = 0
    key_lines: dict


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> _LineDict:
    loader.flatten_mapping(node)
    d = _LineDict()
    d.line = node.start_mark.line + 1
    d.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in d:
            raise RouteConfigError(f"{{file}}:{key_node.start_mark.line + 1}: duplicate key {key!r}")
        d[key] = loader.construct_object(value_node, deep=True)
        d.key_lines[key] = value_node.start_mark.line + 1
    return d


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class _Ctx:
    def __init__(self, path: str):
        self.path = path

    def fail(self, line: int, msg: str) -> None:
        raise RouteConfigError(f"{self.path}:{line}: {msg}")


def parse_duration(value: Any) -> int | None:
    """'30s' | '15m' | '4h' | '1d' | int seconds -> seconds; None if unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            return int(m.group(1)) * _UNITS[m.group(2)]
    return None


def _line(d: Any, key: str | None = None) -> int:
    if isinstance(d, _LineDict):
        return d.key_lines.get(key, d.line) if key else d.line
    return 0


def _str_list(ctx: _Ctx, d: _LineDict, key: str) -> list[str]:
    v = d[key]
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not v or not all(isinstance(x, (str, int)) for x in v):
        ctx.fail(_line(d, key), f"{key} must be a non-empty list of strings")
    return [str(x) for x in v]


def _parse_route(ctx: _Ctx, d: Any, parent: Route | None, path_name: str) -> Route:
    if not isinstance(d, _LineDict):
        ctx.fail(getattr(parent, "line", 1), f"route {path_name} must be a mapping")
    unknown = set(d) - NODE_KEYS
    if unknown:
        k = sorted(unknown)[0]
        ctx.fail(_line(d, k), f"unknown route key {k!r}; allowed: {', '.join(sorted(NODE_KEYS))}")
    name = str(d.get("name", path_name))
    r = Route(name=name, line=d.line)
    if parent is not None:  # inherit
        r.receiver, r.group_by = parent.receiver, parent.group_by
        r.group_wait_s, r.repeat_interval_s = parent.group_wait_s, parent.repeat_interval_s
        r.pending_for_s, r.send_resolved = parent.pending_for_s, parent.send_resolved
    elif "receiver" not in d:
        ctx.fail(d.line, "the root route needs a receiver (a team code or $team): it is the catch-all")
    if "match" in d:
        if parent is None:
            ctx.fail(_line(d, "match"), "the root route is the catch-all and cannot have match")
        m = d["match"]
        if not isinstance(m, _LineDict):
            ctx.fail(_line(d, "match"), "match must be a mapping")
        for key in m:
            if key in LIST_MATCHERS:
                values = _str_list(ctx, m, key)
                allowed = LIST_MATCHERS[key]
                if allowed is not None:
                    bad = [v for v in values if v not in allowed]
                    if bad:
                        ctx.fail(_line(m, key), f"{key} {bad[0]!r} is not one of {', '.join(allowed)}")
                r.list_match[key] = frozenset(values)
            elif key == "affected_orders_gte":
                v = m[key]
                if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                    ctx.fail(_line(m, key), "affected_orders_gte must be a non-negative integer")
                r.affected_orders_gte = v
            elif key in ("hours_to_show_lte", "hours_to_show_gte"):
                v = m[key]
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    ctx.fail(_line(m, key), f"{key} must be a number of hours")
                setattr(r, key, float(v))
            else:
                ctx.fail(_line(m, key), f"unknown matcher {key!r}; allowed: "
                         f"{', '.join(list(LIST_MATCHERS) + list(NUM_MATCHERS))}")
    if "receiver" in d:
        rec = d["receiver"]
        if not isinstance(rec, str) or (rec != SELF_TEAM and rec not in contract.TEAMS):
            ctx.fail(_line(d, "receiver"), f"receiver {rec!r} is not a team ({', '.join(contract.TEAMS)}) or $team")
        r.receiver = rec
    if "continue" in d:
        if not isinstance(d["continue"], bool):
            ctx.fail(_line(d, "continue"), "continue must be true or false")
        r.cont = d["continue"]
    if "send_resolved" in d:
        if not isinstance(d["send_resolved"], bool):
            ctx.fail(_line(d, "send_resolved"), "send_resolved must be true or false")
        r.send_resolved = d["send_resolved"]
    if "group_by" in d:
        gb = _str_list(ctx, d, "group_by")
        bad = [g for g in gb if g not in GROUP_FIELDS]
        if bad:
            ctx.fail(_line(d, "group_by"), f"group_by {bad[0]!r} is not one of {', '.join(GROUP_FIELDS)}")
        r.group_by = tuple(gb)
    for key, attr in (("group_wait", "group_wait_s"), ("repeat_interval", "repeat_interval_s"),
                      ("pending_for", "pending_for_s")):
        if key in d:
            secs = parse_duration(d[key])
            if secs is None:
                ctx.fail(_line(d, key), f"{key} {d[key]!r} is not a duration like 30s, 15m, 4h, 1d")
            if key == "repeat_interval" and secs == 0:
                ctx.fail(_line(d, key), "repeat_interval must be > 0")
            setattr(r, attr, secs)
    if "routes" in d:
        children = d["routes"]
        if not isinstance(children, list):
            ctx.fail(_line(d, "routes"), "routes must be a list")
        for i, c in enumerate(children):
            if not isinstance(c, _LineDict):
                ctx.fail(_line(d, "routes"), f"route #{i + 1} under {name} must be a mapping")
            r.routes.append(_parse_route(ctx, c, r, f"{name}/{i + 1}"))
    return r


def _parse_team(ctx: _Ctx, code: str, d: Any, line: int) -> Team:
    if code not in contract.TEAMS:
        ctx.fail(line, f"team {code!r} is not one of {', '.join(contract.TEAMS)}")
    if not isinstance(d, _LineDict):
        ctx.fail(line, f"team {code} must be a mapping with channels, ack_sla, escalate_to")
    unknown = set(d) - TEAM_KEYS
    if unknown:
        k = sorted(unknown)[0]
        ctx.fail(_line(d, k), f"unknown team key {k!r}; allowed: {', '.join(sorted(TEAM_KEYS))}")
    sla = parse_duration(d.get("ack_sla", "30m"))
    if sla is None or sla == 0:
        ctx.fail(_line(d, "ack_sla"), f"ack_sla {d.get('ack_sla')!r} is not a duration like 15m")
    esc = tuple(_str_list(ctx, d, "escalate_to")) if "escalate_to" in d else ()
    chans = d.get("channels")
    if not isinstance(chans, list) or not chans:
        ctx.fail(_line(d, "channels"), f"team {code} needs a non-empty channels list")
    out = []
    for c in chans:
        if not isinstance(c, _LineDict):
            ctx.fail(_line(d, "channels"), "each channel must be a mapping {type, recipients}")
        unknown = set(c) - CHANNEL_KEYS
        if unknown:
            k = sorted(unknown)[0]
            ctx.fail(_line(c, k), f"unknown channel key {k!r}; allowed: type, recipients")
        if c.get("type") not in CHANNEL_TYPES:
            ctx.fail(_line(c, "type"), f"channel type {c.get('type')!r} is not one of {', '.join(CHANNEL_TYPES)}")
        if "recipients" not in c:
            ctx.fail(c.line, "channel needs recipients")
        out.append(Channel(c["type"], tuple(_str_list(ctx, c, "recipients"))))
    return Team(code, sla, esc, tuple(out))


def _receivers(r: Route) -> Iterable[tuple[str, int]]:
    yield r.receiver, r.line
    for c in r.routes:
        yield from _receivers(c)


def parse(text: str, path: str = "<routes>") -> RouteConfig:
    ctx = _Ctx(path)
    try:
        doc = yaml.load(text, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    except RouteConfigError as exc:
        raise RouteConfigError(str(exc).replace("{file}", path)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise RouteConfigError(f"{path}:{line}: not valid YAML: {exc.problem or exc}") from None
    if not isinstance(doc, _LineDict):
        ctx.fail(1, "expected a mapping with 'route' and 'teams'")
    unknown = set(doc) - {"route", "teams"}
    if unknown:
        k = sorted(unknown)[0]
        ctx.fail(_line(doc, k), f"unknown top-level key {k!r}; allowed: route, teams")
    for key in ("route", "teams"):
        if key not in doc:
            ctx.fail(doc.line, f"missing top-level {key!r}")
    root = _parse_route(ctx, doc["route"], None, "root")
    tdoc = doc["teams"]
    if not isinstance(tdoc, _LineDict):
        ctx.fail(_line(doc, "teams"), "teams must be a mapping of team code -> settings")
    teams = {str(code): _parse_team(ctx, str(code), v, _line(tdoc, code)) for code, v in tdoc.items()}
    for rec, line in _receivers(root):
        if rec == SELF_TEAM:
            missing = [t for t in contract.TEAMS if t not in teams]
            if missing:
                ctx.fail(line, f"receiver $team can name any team, but teams has no entry for {', '.join(missing)}")
        elif rec not in teams:
            ctx.fail(line, f"receiver {rec} has no entry under teams")
    return RouteConfig(root=root, teams=teams, path=path)


def load(path: str | Path) -> RouteConfig:
    """Read and validate a routes file (``settings.routes_path()`` in production)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise RouteConfigError(f"{p}:0: cannot read routes file: {exc}") from None
    return parse(text, str(p))


def group_key(decision: Decision, issue: Mapping[str, Any]) -> str:
    """Digest key: the route plus the values of its group_by fields (team is the decision's team)."""
    parts = [decision.route]
    for f in decision.group_by:
        if f == "team":
            parts.append(f"team={decision.team}")
        elif f == "route":
            continue
        else:
            parts.append(f"{f}={issue.get(f)}")
    return "|".join(parts)
