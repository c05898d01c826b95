"""The flowsheet graph of a route: which feed or operation makes each stream,
which operation takes it, what lies upstream, and the order to solve in.

One graph serves the route (dependency order, upstream feeds of the product,
terminal streams for the balances) and its figures (main path, block-flow
diagram), so the two can never disagree about how a route is connected.

Streams are named as in route files: a feed or a single-outlet operation by
its own name (``R1``), one outlet of a multi-outlet operation as
``OP.OUTLET`` (``S1.organic``, ``SP.1``).
"""

from __future__ import annotations

from ..core.errors import InputError

__all__ = ["Flowsheet", "stream_name"]


def stream_name(node, outlet):
    """The name of ``node``'s outlet ``outlet`` ('' or None for a single outlet)."""
    return f"{node}.{outlet}" if outlet else node


class Flowsheet:
    """Directed graph of feeds, operations and the streams between them.

    Parameters
    ----------
    feeds : iterable of str
        Feed names.
    outlets : dict of str -> tuple of str
        Operation name -> its outlet names, ``("",)`` for a single outlet, in
        file order.
    links : dict of str -> list of str
        Operation name -> the names of the streams it takes.
    source : str
        The route file, for error messages.

    Construction checks the graph and refuses, naming the entry, unknown
    inlets, an operation fed by its own outlet, a stream taken twice, cycles
    and feeds that go nowhere.
    """

    def __init__(self, feeds, outlets, links, source="<python>"):
        self.feeds = list(feeds)
        self.operations = list(outlets)
        self.links = {name: list(links[name]) for name in self.operations}
        self.source = source
        self.producer = {f: f for f in self.feeds}      # stream name -> feed or operation
        self.outlet_of = {f: None for f in self.feeds}  # stream name -> outlet name
        for name, names in outlets.items():
            for outlet in names:
                self.producer[stream_name(name, outlet)] = name
                self.outlet_of[stream_name(name, outlet)] = outlet or None
        self.consumer = self._check_links()             # stream name -> operation
        self.order = self._topological_order()
        unused = [f for f in self.feeds if f not in self.consumer]
        if unused:
            raise InputError(f"feed {unused[0]!r} is not the inlet of any operation", self.source,
                             "feeds")
        self._upstream = {}

    # -- queries ----------------------------------------------------------
    def node(self, stream):
        """``(node, outlet)`` that makes ``stream``; outlet is None for a feed
        or a single-outlet operation. Raises KeyError for an unknown name."""
        if stream in self.producer:
            return self.producer[stream], self.outlet_of[stream]
        if stream in self.links:  # an operation named without its outlet
            return stream, None
        raise KeyError(f"unknown stream {stream!r}")

    def outlets(self, node):
        """Stream names an operation (or feed) produces, in file order."""
        return [s for s, p in self.producer.items() if p == node]

    def upstream(self, stream):
        """Names of every feed and operation upstream of ``stream``, its own
        producer included."""
        node = self.node(stream)[0]
        if node not in self._upstream:
            seen, stack = set(), [node]
            while stack:
                n = stack.pop()
                if n in seen:
                    continue
                seen.add(n)
                stack.extend(self.producer[s] for s in self.links.get(n, ()))
            self._upstream[node] = frozenset(seen)
        return set(self._upstream[node])

    def upstream_feeds(self, stream):
        """Feed names upstream of ``stream``, in file order."""
        up = self.upstream(stream)
        return [f for f in self.feeds if f in up]

    def terminal_streams(self):
        """Streams that no operation takes (the route's outlets), in order of creation."""
        return [s for s in self.producer if s not in self.consumer and s not in self.feeds]

    def depth(self):
        """Operation -> number of operations on the longest path from a feed to it
        (feeds have depth 0)."""
        depth = {f: 0 for f in self.feeds}
        for op in self.order:
            depth[op] = 1 + max(depth[self.producer[s]] for s in self.links[op])
        return depth

    # -- checks -----------------------------------------------------------
    def _where(self, name):
        return f"operations[{self.operations.index(name)}].from"

    def _check_links(self):
        consumer = {}
        for name in self.operations:
            for inlet in self.links[name]:
                if inlet not in self.producer:
                    raise InputError(f"unknown stream {inlet!r} (streams: {', '.join(self.producer)})",
                                     self.source, self._where(name))
                if self.producer[inlet] == name:
                    raise InputError("an operation cannot take its own outlet", self.source,
                                     self._where(name))
                if inlet in consumer:
                    raise InputError(f"stream {inlet!r} is already the inlet of {consumer[inlet]!r}; "
                                     "a stream can feed only one operation (use a splitter)",
                                     self.source, self._where(name))
                consumer[inlet] = name
        return consumer

    def _topological_order(self):
        order, state = [], {}

        def visit(n, path):
            if state.get(n) == "done":
                return
            if state.get(n) == "active":
                cycle = path[path.index(n):] + [n]
                raise InputError(f"the operations form a cycle: {' -> '.join(cycle)} "
                                 "(recycle loops are not supported)", self.source, "operations")
            state[n] = "active"
            for inlet in self.links[n]:
                up = self.producer[inlet]
                if up in self.links:
                    visit(up, path + [n])
            state[n] = "done"
            order.append(n)

        for n in self.operations:
            visit(n, [])
        return order
