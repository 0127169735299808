"""openfault.Ring: a consistent-hash ring over libopenfault's of_ring."""
from __future__ import annotations

import ctypes
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from ._native import (_METRICS_ARGS, InvalidRangeError, _declare, as_bytes, check, invalid,
                      invalid_type, metrics_text, plib)

_c = ctypes
_vp, _sz, _u32, _u64 = _c.c_void_p, _c.c_size_t, _c.c_uint32, _c.c_uint64
_p_u64, _p_sz = _c.POINTER(_c.c_uint64), _c.POINTER(_c.c_size_t)
_EMPTY = -5


class RingOptions(_c.Structure):
    """struct of_ring_options (ring.h)."""
    _fields_ = [("struct_size", _u32), ("algorithm", _u32), ("vnodes", _u32), ("flags", _u32),
                ("seed", _u64)]


class RingRange(_c.Structure):
    """struct of_ring_range (ring.h)."""
    _fields_ = [("first", _u64), ("last", _u64), ("old_id", _vp), ("old_id_len", _sz),
                ("old_tag", _u64), ("new_id", _vp), ("new_id_len", _sz), ("new_tag", _u64)]


class RingStats(_c.Structure):
    """struct of_ring_stats (ring.h)."""
    _fields_ = [("struct_size", _u32), ("algorithm", _u32), ("generation", _u64),
                ("fingerprint", _u64), ("nodes", _u64), ("points", _u64),
                ("node_points_min", _u64), ("node_points_max", _u64), ("pins", _u64),
                ("memory_bytes", _u64), ("nodes_added", _u64), ("nodes_removed", _u64),
                ("weight_changes", _u64), ("last_change_generation", _u64),
                ("busiest_share", _c.c_double), ("mean_share", _c.c_double),
                ("busiest_ratio", _c.c_double), ("last_moved_share", _c.c_double)]


_LOAD_FN = _c.CFUNCTYPE(_u64, _vp, _u64, _vp, _sz)
_NODE_FN = _c.CFUNCTYPE(_c.c_int, _vp, _vp, _sz, _u32, _u64)
_RANGE_FN = _c.CFUNCTYPE(_c.c_int, _vp, _c.POINTER(RingRange))

# The ring's calls are short and never block on another thread, so they keep the GIL (plib):
# Python threads are serialised around them and the tag table below stays consistent.
_declare(plib, "of_ring_options_init", _c.c_int, _c.POINTER(RingOptions), _sz)
_declare(plib, "of_ring_options_size", _sz)
_declare(plib, "of_ring_create", _c.c_int, _c.POINTER(RingOptions), _c.POINTER(_vp))
_declare(plib, "of_ring_destroy", None, _vp)
_declare(plib, "of_ring_add", _c.c_int, _vp, _c.c_char_p, _sz, _u32, _u64)
_declare(plib, "of_ring_remove", _c.c_int, _vp, _c.c_char_p, _sz)
_declare(plib, "of_ring_set_weight", _c.c_int, _vp, _c.c_char_p, _sz, _u32)
_declare(plib, "of_ring_pin", _c.c_int, _vp, _c.c_char_p, _sz, _c.c_char_p, _sz)
_declare(plib, "of_ring_unpin", _c.c_int, _vp, _c.c_char_p, _sz)
_declare(plib, "of_ring_lookup", _c.c_int, _vp, _c.c_char_p, _sz, _p_u64, _vp, _sz, _p_sz)
_declare(plib, "of_ring_lookup_hash", _c.c_int, _vp, _u64, _p_u64, _vp, _sz, _p_sz)
_declare(plib, "of_ring_lookup_n", _c.c_int, _vp, _c.c_char_p, _sz, _sz, _vp)
_declare(plib, "of_ring_lookup_bounded", _c.c_int, _vp, _c.c_char_p, _sz, _c.c_double, _u64,
         _LOAD_FN, _vp, _p_u64)
_declare(plib, "of_ring_contains", _c.c_int, _vp, _c.c_char_p, _sz, _c.POINTER(_c.c_int))
_declare(plib, "of_ring_node_count", _sz, _vp)
_declare(plib, "of_ring_generation", _u64, _vp)
_declare(plib, "of_ring_foreach", _c.c_int, _vp, _NODE_FN, _vp)
_declare(plib, "of_ring_ownership", _c.c_int, _vp, _c.c_char_p, _sz, _c.POINTER(_c.c_double))
_declare(plib, "of_ring_fingerprint", _u64, _vp)
_declare(plib, "of_ring_view_take", _c.c_int, _vp, _c.POINTER(_vp))
_declare(plib, "of_ring_view_release", None, _vp)
_declare(plib, "of_ring_view_generation", _u64, _vp)
_declare(plib, "of_ring_view_fingerprint", _u64, _vp)
_declare(plib, "of_ring_diff", _c.c_int, _vp, _vp, _RANGE_FN, _vp, _vp)
_declare(plib, "of_ring_memory_usage", _sz, _vp)
_declare(plib, "of_ring_view_lookup", _c.c_int, _vp, _c.c_char_p, _sz, _p_u64, _vp, _sz, _p_sz)
_declare(plib, "of_ring_lookup_batch", _c.c_int, _vp, _vp, _vp, _sz, _vp)
_declare(plib, "of_ring_get_stats", _c.c_int, _vp, _c.POINTER(RingStats))
_declare(plib, "of_ring_metrics", _c.c_int, *_METRICS_ARGS)
_declare(plib, "of_ring_view_lookup_batch", _c.c_int, _vp, _vp, _vp, _sz, _vp)


def _key_arrays(keys):
    """(count, key pointer array, length array, the bytes kept alive) for a batch call."""
    ks = [k.encode() if type(k) is str else k if type(k) is bytes else as_bytes(k) for k in keys]
    n = len(ks)
    ptrs = (_c.c_char_p * n)(*ks)
    lens = (_sz * n)(*[len(k) for k in ks])
    return n, ptrs, lens, ks

DEFAULT_VNODES = 1024


def _uint(value, what, top):
    """An int in 0..@p top (ctypes would wrap anything else silently)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_type("%s must be an int, not %s" % (what, type(value).__name__))
    if not 0 <= value <= top:
        raise InvalidRangeError(-1, None, "%s %d outside 0..%d" % (what, value, top))
    return value


# Option flags (ring.h) and the ketama= names.
_SORT_HOSTS, _KETAMA_UNWEIGHTED = 0x1, 0x2
_KETAMA_VARIANTS = {"weighted": "weighted", "unweighted": "unweighted"}


def _weight(weight, ketama):
    if isinstance(weight, bool) or not isinstance(weight, int):
        raise invalid_type("weight must be an int")
    if not (0 if ketama else 1) <= weight <= 0xFFFFFFFF:
        raise invalid("weight %d out of range" % weight)
    return weight


class RingView:
    """An immutable version of a Ring (Ring.view()), e.g. to diff() with a later one."""

    def __init__(self, ring: "Ring", handle: int) -> None:
        self._nodes = dict(ring._nodes)  # tag -> node object, as of this version
        self._h = handle

    @property
    def generation(self) -> int:
        return plib.of_ring_view_generation(self._h)

    @property
    def fingerprint(self) -> int:
        return plib.of_ring_view_fingerprint(self._h)

    def diff(self, newer: "RingView") -> List[Tuple[int, int, Any, Any]]:
        """Hash ranges whose owner differs from this view to @p newer:
        a list of (first_hash, last_hash, old_node, new_node) (inclusive bounds; a node is None
        on the side of an empty ring)."""
        out, errors = [], []

        def visit(_ctx, rp):
            try:
                r = rp.contents
                old = self._nodes.get(r.old_tag) if r.old_id else None
                new = newer._nodes.get(r.new_tag) if r.new_id else None
                out.append((r.first, r.last, old, new))
                return 0
            except BaseException as e:  # cannot cross into C: stop and re-raise below
                errors.append(e)
                return 1

        cb = _RANGE_FN(visit)
        rc = plib.of_ring_diff(self._h, newer._h, cb, None, None)
        if errors:
            raise errors[0]
        check(rc)
        return out

    def _handle(self):
        if not self._h:
            raise invalid("view is released")
        return self._h

    def get(self, key: Union[str, bytes]) -> Any:
        """The node owning @p key in this version of the ring (of_ring_view_lookup)."""
        k = key.encode() if type(key) is str else key if type(key) is bytes else as_bytes(key)
        tag = _u64()
        check(plib.of_ring_view_lookup(self._handle(), k, len(k), _c.byref(tag), None, 0, None))
        return self._nodes[tag.value]

    def get_many(self, keys: Iterable[Union[str, bytes]]) -> List[Any]:
        """The owners of @p keys in this version, in key order (of_ring_view_lookup_batch)."""
        n, ptrs, lens, _keep = _key_arrays(keys)
        tags = (_u64 * max(n, 1))()
        check(plib.of_ring_view_lookup_batch(self._handle(), ptrs, lens, n, tags))
        nodes = self._nodes
        return [nodes[t] for t in tags[:n]]

    def release(self) -> None:
        h, self._h = self._h, None
        if h:
            plib.of_ring_view_release(h)

    def __del__(self):
        self.release()


class Ring:
    """Consistent-hash ring. Nodes and keys are str (UTF-8) or bytes; lookups return each node
    as it was added (same object, so str stays str and bytes stay bytes).

        ring = Ring(["cache-a", "cache-b"], vnodes=256)
        ring.add_node("cache-c", weight=2)
        ring.get("user:42")          # -> "cache-b"
        ring.get_n("user:42", 2)     # replica preference list
        ring.pin("user:42", "cache-a")

    Placement is exactly libopenfault's (docs/ring.md): any process, any language with the same
    seed, vnodes and nodes agrees. ``ketama=True`` (or ``"weighted"``) gives libmemcached's
    weighted ketama (MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED), ``ketama="unweighted"`` its unweighted
    one (MEMCACHED_BEHAVIOR_KETAMA: weights accepted but ignored); both route every key to the
    server libmemcached 1.1.4 chooses.
    Thread-safety: any thread may call anything (calls hold the GIL; the C ring also lets
    lookups run concurrently with changes).
    """

    def __init__(self, nodes: Iterable[Any] = (), *, vnodes: int = DEFAULT_VNODES, seed: int = 0,
                 ketama: Union[bool, str] = False, sort_hosts: bool = False) -> None:
        self._h = None
        if isinstance(ketama, str):
            variant = _KETAMA_VARIANTS.get(ketama)
            if variant is None:
                raise invalid("ketama must be a bool, 'weighted' or 'unweighted', not %r"
                              % (ketama,))
        else:  # truth value, as before the variants: True is the weighted ketama
            variant = "weighted" if ketama else None
        opts = RingOptions()
        check(plib.of_ring_options_init(_c.byref(opts), _c.sizeof(opts)))
        opts.algorithm = 1 if variant else 0
        opts.vnodes = _uint(vnodes, "vnodes", 0xFFFFFFFF)
        opts.seed = _uint(seed, "seed", (1 << 64) - 1)
        opts.flags = (_SORT_HOSTS if sort_hosts else 0) | \
            (_KETAMA_UNWEIGHTED if variant == "unweighted" else 0)
        self.ketama = variant is not None
        #: None (native), "weighted" or "unweighted"
        self.ketama_variant = variant
        self.seed = seed
        out = _vp()
        check(plib.of_ring_create(_c.byref(opts), _c.byref(out)))
        self._h = out.value
        self._nodes = {}     # tag -> node object as added
        self._tags = {}      # id bytes -> tag
        self._next_tag = 1
        for node in nodes:
            self.add_node(node)

    def close(self) -> None:
        """Free the C ring now (also done when the object is collected)."""
        h, self._h = self._h, None
        if h:
            plib.of_ring_destroy(h)

    def __del__(self):
        self.close()

    def __enter__(self) -> "Ring":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _handle(self):
        if not self._h:
            raise invalid("operation on a closed Ring")
        return self._h

    # -- membership ------------------------------------------------------------------------
    def add_node(self, node: Union[str, bytes], weight: int = 1) -> None:
        """Add @p node (str or bytes) with @p weight. Raises ExistsError if present."""
        nid = as_bytes(node)
        tag = self._next_tag
        check(plib.of_ring_add(self._handle(), nid, len(nid), _weight(weight, self.ketama), tag))
        self._next_tag += 1
        self._nodes[tag] = node
        self._tags[nid] = tag

    def remove_node(self, node: Union[str, bytes]) -> None:
        """Remove @p node and its pins. Raises NotFoundError if absent."""
        nid = as_bytes(node)
        check(plib.of_ring_remove(self._handle(), nid, len(nid)))
        tag = self._tags.pop(nid, None)
        if tag is None and self.ketama:  # ketama compares host and port: "h" is "h:11211"
            for k, t in list(self._tags.items()):
                if not self._contains_bytes(k):
                    tag = self._tags.pop(k)
        self._nodes.pop(tag, None)

    def set_weight(self, node: Union[str, bytes], weight: int) -> None:
        """Change @p node's weight (only keys to or from it move)."""
        nid = as_bytes(node)
        check(plib.of_ring_set_weight(self._handle(), nid, len(nid), _weight(weight, self.ketama)))

    def pin(self, key: Union[str, bytes], node: Union[str, bytes]) -> None:
        """Make lookups of @p key answer @p node (which must be present)."""
        k, nid = as_bytes(key), as_bytes(node)
        check(plib.of_ring_pin(self._handle(), k, len(k), nid, len(nid)))

    def unpin(self, key: Union[str, bytes]) -> None:
        """Remove the pin of @p key (NotFoundError if it has none)."""
        k = as_bytes(key)
        check(plib.of_ring_unpin(self._handle(), k, len(k)))

    # -- lookups ---------------------------------------------------------------------------
    def get(self, key: Union[str, bytes]) -> Any:
        """The node owning @p key. Raises EmptyError when the ring has no node."""
        k = key.encode() if type(key) is str else key if type(key) is bytes else as_bytes(key)
        tag = _u64()
        while True:
            check(plib.of_ring_lookup(self._handle(), k, len(k), _c.byref(tag), None, 0, None))
            node = self._nodes.get(tag.value, _c)
            if node is not _c:
                return node
            # Another Python thread removed the node between the C call and this line: ask again.

    def get_many(self, keys: Iterable[Union[str, bytes]]) -> List[Any]:
        """The owners of @p keys, in key order, all from one version of the ring
        (of_ring_lookup_batch: one C call for the whole list). EmptyError with no node; an
        empty list of keys gives [] (EmptyError on an empty ring, as get())."""
        n, ptrs, lens, _keep = _key_arrays(keys)
        tags = (_u64 * max(n, 1))()
        while True:
            check(plib.of_ring_lookup_batch(self._handle(), ptrs, lens, n, tags))
            try:
                nodes = self._nodes
                return [nodes[t] for t in tags[:n]]
            except KeyError:  # a node removed meanwhile by another thread: ask again
                continue

    def get_hash(self, key_hash: int) -> Any:
        """The node owning a precomputed key hash (openfault.hash64(key, seed)); native mode."""
        tag = _u64()
        h = _uint(key_hash, "key_hash", (1 << 64) - 1)
        while True:
            check(plib.of_ring_lookup_hash(self._handle(), h, _c.byref(tag), None, 0, None))
            node = self._nodes.get(tag.value, _c)
            if node is not _c:
                return node

    def get_n(self, key: Union[str, bytes], n: int) -> List[Any]:
        """The first @p n distinct nodes clockwise from @p key (replica preference list)."""
        k = as_bytes(key)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise invalid("n must be an int >= 1")
        tags = (_u64 * n)()
        while True:
            check(plib.of_ring_lookup_n(self._handle(), k, len(k), n, tags))
            try:
                return [self._nodes[t] for t in tags]
            except KeyError:  # a node removed meanwhile by another thread: ask again
                continue

    def get_bounded(self, key: Union[str, bytes],
                    loads: Union[Mapping[Any, int], Callable[[Any], int]],
                    c: float = 1.25, total: Optional[int] = None) -> Any:
        """Bounded-load lookup: the first node on @p key's preference list whose load is below
        ceil(c * (total + 1) / len(ring)). @p loads maps node -> load (a dict, or a callable
        taking the node); @p total defaults to the sum of the dict's values."""
        k = as_bytes(key)
        get_load = loads if callable(loads) else (lambda node: loads.get(node, 0))
        if total is None:
            if callable(loads):
                raise invalid_type("total is required when loads is a callable")
            total = sum(loads.values())
        total = _uint(total, "total", (1 << 64) - 1)
        if isinstance(c, bool) or not isinstance(c, (int, float)):
            raise invalid_type("c must be a number")
        errors = []

        def load_cb(_ctx, tag, _id, _len):
            try:
                return int(get_load(self._nodes[tag]))
            except BaseException as e:  # cannot cross into C: report the node full, re-raise
                errors.append(e)
                return (1 << 64) - 1

        cb = _LOAD_FN(load_cb)  # alive for the whole (synchronous) call
        out = _u64()
        rc = plib.of_ring_lookup_bounded(self._handle(), k, len(k), c, total, cb, None,
                                         _c.byref(out))
        if errors:
            raise errors[0]
        check(rc)
        return self._nodes[out.value]

    # -- inspection ------------------------------------------------------------------------
    def _contains_bytes(self, nid):
        present = _c.c_int()
        check(plib.of_ring_contains(self._handle(), nid, len(nid), _c.byref(present)))
        return bool(present.value)

    def __contains__(self, node: object) -> bool:
        try:
            nid = as_bytes(node)
        except TypeError:
            return False
        return self._contains_bytes(nid)

    def __len__(self) -> int:
        return plib.of_ring_node_count(self._handle())

    def nodes(self) -> List[Tuple[Any, int]]:
        """[(node, weight)] of the current version (native: id order; ketama: server order)."""
        out = []

        def visit(_ctx, _id, _len, weight, tag):
            out.append((self._nodes[tag], weight))
            return 0

        check(plib.of_ring_foreach(self._handle(), _NODE_FN(visit), None))
        return out

    def ownership(self, node: Union[str, bytes]) -> float:
        """The share of the hash space @p node owns, in [0, 1]."""
        nid = as_bytes(node)
        share = _c.c_double()
        check(plib.of_ring_ownership(self._handle(), nid, len(nid), _c.byref(share)))
        return share.value

    @property
    def generation(self) -> int:
        """0 at creation, +1 on every change."""
        return plib.of_ring_generation(self._handle())

    @property
    def fingerprint(self) -> int:
        """Membership fingerprint, equal across processes with the same options, nodes, pins."""
        return plib.of_ring_fingerprint(self._handle())

    def memory_usage(self) -> int:
        """Bytes used by the current snapshot."""
        return plib.of_ring_memory_usage(self._handle())

    def stats(self) -> Dict[str, Any]:
        """The ring's figures (of_ring_stats) as a dict: nodes, points, node_points_min/max,
        pins, generation, fingerprint, memory_bytes, nodes_added, nodes_removed, weight_changes,
        last_change_generation, busiest_share, mean_share, busiest_ratio, last_moved_share, and
        algorithm ("native", "ketama" or "ketama_unweighted", as the ring_info metric says)."""
        s = RingStats()
        s.struct_size = _c.sizeof(s)
        check(plib.of_ring_get_stats(self._handle(), _c.byref(s)))
        out: Dict[str, Any] = {n: getattr(s, n) for n, _t in RingStats._fields_[2:]}
        out["algorithm"] = ("native" if s.algorithm != 1 else
                            "ketama_unweighted" if self.ketama_variant == "unweighted" else "ketama")
        return out

    def metrics(self, format: str = "prometheus", prefix: Optional[str] = None,
                labels: Optional[Mapping[str, str]] = None) -> str:
        """The ring's metrics as text: ``format="prometheus"`` (text exposition format 0.0.4,
        what a /metrics endpoint serves) or ``"json"`` (parse it with json.loads). @p prefix
        goes before every name (None: "openfault_"); @p labels are constant labels added to
        every sample, e.g. ``{"service": "x"}``. Bad names raise InvalidError."""
        return metrics_text(plib.of_ring_metrics, self._handle(), format, prefix, labels)

    def view(self) -> RingView:
        """An immutable RingView of the current version (for diff())."""
        out = _vp()
        check(plib.of_ring_view_take(self._handle(), _c.byref(out)))
        return RingView(self, out.value)

    def __repr__(self) -> str:
        mode = " (ketama)" if self.ketama_variant == "weighted" else \
            " (unweighted ketama)" if self.ketama else ""
        return "<openfault.Ring of %d nodes%s>" % (len(self), mode)

