"""Holding the leases of a run: acquire all before the first effect, renew, release at the end.

A run leases every asset its steps change before it changes any, all or nothing, so two runs of
the same recovery can never interleave. A background thread renews the leases (heartbeat) at a
third of their TTL; if one is lost (expired and taken, or forced), `lost` is set and the engine
stops before its next effect. The lease's `host` is `<hostname> pid <pid>`, which lets a resume on
the same machine tell a crashed run (pid gone: safe to continue) from a live one (refused).

Fencing: each keeper is one session with a fresh token (`session`). Its leases carry it, and
heartbeat, release and `confirm` (the engine's check immediately before every effect) are
conditional on it. Taking a run over (a resume with `--force`, a crashed process's run, an
expired lease) writes a new token, so the old process's next check or write fails and it stops
with `Fenced`.

`ONCALL_HOST` names this machine in leases instead of its hostname (containers whose hostnames
repeat; the tests use it to play a second machine).
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from incidents.errors import LeaseHeld, LeaseLost, StoreError
from incidents.leases import Lease
from incidents.store import Store
from runbooks.errors import Fenced, LeaseRefused, RunbookError, RunStillActive

DEFAULT_TTL_SECONDS = 300.0

#: (kind, message, data) for the timeline: the keeper reports, the engine records.
Reporter = Callable[[str, str, dict[str, object]], None]


ENV_HOST = "ONCALL_HOST"


def machine_name() -> str:
    """This machine's name as leases and the timeline record it (`ONCALL_HOST` overrides)."""
    return os.environ.get(ENV_HOST, "").strip() or socket.gethostname()


def this_host() -> str:
    return f"{machine_name()} pid {os.getpid()}"


def new_session() -> str:
    """A fresh fencing token for one process driving one run."""
    return uuid.uuid4().hex


def process_alive(host: str) -> bool | None:
    """Whether the process named by a lease's host string is alive; None when it is on another
    machine (or the string is not ours) and so cannot be known."""
    name, sep, pid_text = host.rpartition(" pid ")
    if not sep or name != machine_name() or not pid_text.isdigit():
        return None
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class LeaseKeeper:
    store: Store
    run_id: str
    holder: str
    incident_id: str | None
    report: Reporter
    ttl: float = DEFAULT_TTL_SECONDS
    session: str = field(default_factory=new_session)

    def __post_init__(self) -> None:
        self.host = this_host()
        self.held: list[str] = []
        self.lost = threading.Event()
        self.lost_reason = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire_all(
        self, assets: Sequence[str], *, force_reason: str | None = None, resuming: bool = False
    ) -> None:
        """Lease every asset or none: on a refusal the ones taken so far are released.

        Resuming a run whose leases say it may still be running elsewhere needs `force_reason`;
        once every lease is taken, that takeover goes on the timeline (one `override`)."""
        overridden: list[Lease] = []
        for asset in sorted(set(assets)):
            try:
                lease = self._acquire(asset, force_reason, resuming, overridden)
            except BaseException:
                self.release_all()
                raise
            self.held.append(asset)
            self.report(
                "lease",
                f"leased {asset} for {self.run_id} until {lease.expires_at:%H:%M:%S} UTC",
                {"asset": asset, "run": self.run_id, "host": self.host, "ttl": self.ttl},
            )
        if overridden:
            self._report_takeover(overridden, force_reason or "")
        if self.held and self._thread is None:
            self._thread = threading.Thread(
                target=self._heartbeat, name=f"lease-heartbeat-{self.run_id}", daemon=True
            )
            self._thread.start()

    def refuse_if_still_active(self, assets: Sequence[str], force_reason: str | None) -> None:
        """Raise `RunStillActive` when resuming this run would be refused, reading only: said
        before anyone is asked for a permission or a reason that could not be used."""
        for asset in sorted(set(assets)):
            current = self.store.get_lease(asset)
            if current is None or current.run_id != self.run_id:
                continue
            alive = process_alive(current.host)
            live_elsewhere = alive is None and not current.is_expired(self.store.clock())
            if alive and force_reason:
                continue  # refused by `acquire_all`, which records the refused takeover
            refusal = self._still_active(asset, current, alive, live_elsewhere, force_reason)
            if refusal is not None:
                raise refusal

    def _still_active(
        self,
        asset: str,
        current: Lease,
        alive: bool | None,
        live_elsewhere: bool,
        force_reason: str | None,
    ) -> RunStillActive | None:
        if alive:
            return RunStillActive(
                f"{self.run_id} is still running here: its process ({current.host}) is alive "
                "on this machine, and a live run is never taken over; let it finish or stop "
                "that process, then resume",
                run_id=self.run_id,
                host=current.host,
                alive=True,
            )
        if live_elsewhere and not force_reason:
            return RunStillActive(
                f"{self.run_id} may still be running on {current.host} (it holds the lease "
                f"on {asset} until {current.expires_at:%H:%M:%S} UTC); resume it once that "
                "process has stopped, or take over with --force --reason TEXT",
                run_id=self.run_id,
                host=current.host,
                alive=None,
            )
        return None

    def _acquire(
        self, asset: str, force_reason: str | None, resuming: bool, overridden: list[Lease]
    ) -> Lease:
        current = self.store.get_lease(asset)
        if resuming and current is not None and current.run_id == self.run_id:
            alive = process_alive(current.host)
            live_elsewhere = alive is None and not current.is_expired(self.store.clock())
            if alive and force_reason:  # a takeover asked for in writing and refused: recorded too
                self.report(
                    "lease",
                    f"{self.holder} asked to take over {self.run_id} ({force_reason}): "
                    f"refused, its process ({current.host}) is still running on this machine",
                    {
                        "run": self.run_id,
                        "asset": asset,
                        "refused": True,
                        "reason": force_reason,
                        "previous": _describe(current),
                    },
                )
            refusal = self._still_active(asset, current, alive, live_elsewhere, force_reason)
            if refusal is not None:
                raise refusal
            if live_elsewhere:
                overridden.append(current)
            # The old session is gone, expired or being overridden: take its lease, and only its
            # (`only_from`), with this session's token. From now on it is fenced.
            try:
                lease, _previous = self.store.force_lease(
                    asset,
                    self.holder,
                    self.incident_id,
                    self.run_id,
                    self.ttl,
                    self.host,
                    self.session,
                    only_from=current.session,
                )
            except LeaseHeld as exc:
                raise LeaseRefused(exc.lease) from exc
            return lease
        try:
            return self.store.acquire_lease(
                asset, self.holder, self.incident_id, self.run_id, self.ttl, self.host, self.session
            )
        except LeaseHeld as exc:
            if not force_reason:
                self.report(
                    "lease",
                    f"refused {asset} to {self.run_id}: held by {exc.lease.holder} "
                    f"(run {exc.lease.run_id})",
                    {"asset": asset, "run": self.run_id, "refused": True, **_describe(exc.lease)},
                )
                raise LeaseRefused(exc.lease) from exc
        lease, previous = self.store.force_lease(
            asset, self.holder, self.incident_id, self.run_id, self.ttl, self.host, self.session
        )
        held_by = (
            f"{previous.holder} (run {previous.run_id}, since {previous.acquired_at:%Y-%m-%d %H:%M} UTC)"
            if previous
            else "nobody"
        )
        self.report(
            "override",
            f"{self.holder} took over the lease on {asset} from {held_by}: {force_reason}",
            {
                "asset": asset,
                "run": self.run_id,
                "reason": force_reason,
                "previous": _describe(previous) if previous else None,
            },
        )
        return lease

    def _report_takeover(self, leases: Sequence[Lease], reason: str) -> None:
        """One override for a resume forced past "may still be running elsewhere"."""
        hosts = sorted({lease.host for lease in leases})
        until = max(lease.expires_at for lease in leases)
        self.report(
            "override",
            f"{self.holder} took over {self.run_id}, which may still be running on "
            f"{', '.join(hosts)} (it held {', '.join(lease.asset for lease in leases)} until "
            f"{until:%H:%M:%S} UTC): {reason}",
            {
                "run": self.run_id,
                "override": "resume",
                "reason": reason,
                "assets": [lease.asset for lease in leases],
                "previous": [_describe(lease) for lease in leases],
            },
        )

    def _heartbeat(self) -> None:
        interval = max(self.ttl / 3.0, 0.05)
        while not self._stop.wait(interval):
            for asset in list(self.held):
                try:
                    self.store.heartbeat_lease(asset, self.run_id, self.ttl, self.session)
                except LeaseLost as exc:
                    self.lost_reason = str(exc)
                    self.lost.set()
                    return
                except StoreError:
                    continue  # a busy database: try again at the next beat

    def stop(self) -> None:
        """Stop the heartbeat, releasing nothing (a fenced session: the leases are not ours)."""
        self._stop.set()

    def release_all(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        for asset in self.held:
            try:
                released = self.store.release_lease(asset, self.run_id, self.session)
            except StoreError:
                continue
            if released:
                self.report(
                    "lease",
                    f"released {asset} ({self.run_id})",
                    {"asset": asset, "run": self.run_id},
                )
        self.held = []

    def confirm(self, assets: Sequence[str]) -> None:
        """Still ours? Checked immediately before every effect and retry, after any prompt: the
        heartbeat's verdict first (no database trip), then one conditional renewal of the
        step's leases. Raises `Fenced` naming who took the run over."""
        if self.lost.is_set():
            raise self.fenced(self.lost_reason)
        mine = [a for a in assets if a in self.held]
        missing = sorted(set(assets) - set(mine))
        if missing:
            raise RunbookError(
                f"{self.run_id} holds no lease on {', '.join(missing)}; it cannot change it"
            )
        try:
            taken = self.store.confirm_leases(mine, self.run_id, self.session, self.ttl)
        except LeaseLost as exc:
            self.lost_reason = str(exc)
            self.lost.set()
            raise self.fenced(str(exc)) from exc
        if taken:
            lease = taken[0]
            self.lost_reason = f"{lease.asset} is held by {lease.holder} from {lease.host}"
            self.lost.set()
            raise Fenced(self.run_id, lease.holder, lease.host, self.lost_reason)

    def fenced(self, detail: str = "") -> Fenced:
        """The `Fenced` error for this run, naming the session that holds its leases now."""
        try:
            leases = self.store.list_leases(self.run_id)
        except StoreError:
            leases = []
        for lease in leases:
            if lease.session != self.session:
                return Fenced(self.run_id, lease.holder, lease.host, detail)
        for asset in self.held:
            try:
                lease = self.store.get_lease(asset)
            except StoreError:
                continue
            if lease is not None and lease.session != self.session:
                return Fenced(self.run_id, lease.holder, lease.host, detail)
        return Fenced(self.run_id, None, None, detail)


def _describe(lease: Lease) -> dict[str, object]:
    return {
        "holder": lease.holder,
        "incident": lease.incident_id,
        "run_id": lease.run_id,
        "host": lease.host,
        "since": lease.acquired_at.isoformat(),
        "expires": lease.expires_at.isoformat(),
    }
