"""An sshd inside a lab, reachable only from a network namespace the test made.

The host's own network is never touched: ``SshNetwork`` makes a client
namespace with ``ip netns add``, and each lab it boots gets a namespace of its
own, joined to the client's by a veth pair created inside the client
namespace (its peer moved straight into the lab's) and addressed with a /30
from 169.254.77.0/24, which exists only on those links. Anything that talks
to the lab over ssh (staydown --host, scp, ansible-playbook) runs in the
client namespace: ``SshLab.client(argv)``.

The key is generated per network (ssh-keygen into a 0700 temporary
directory); the lab's host key is generated inside the lab and read back into
a known_hosts file, so StrictHostKeyChecking=yes holds.

    with SshNetwork() as network:
        remote = network.boot("article")              # root@169.254.77.2
        subprocess.run(remote.client(["ssh", *remote.ssh_arguments(),
                                      remote.destination, "true"]), check=True)
        remote.staydown("diagnose", "--json", "widget-daemon.service")
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from wizard.lab import nspawn as lab_module
from wizard.lab.nspawn import Lab

SUBNET = "169.254.77"
_networks = itertools.count(1)

_SSHD_CONFIG = """\
ListenAddress {address}
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AuthorizedKeysFile .ssh/authorized_keys
PidFile /run/sshd.pid
Subsystem sftp internal-sftp
"""
# The lab's /etc is a fresh tmpfs: sshd's privilege-separation user, its
# directory and a host key are made here. UsePAM is off (the lab has no
# /etc/pam.d), and without PAM sshd refuses a locked account, which root is
# ("!*" from systemd-sysusers), so its password becomes "*": no password, not locked.
_SSHD_SETUP = """\
set -e
mkdir -p /etc/ssh /run/sshd
chmod 0755 /run/sshd
ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key
id sshd >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /run/sshd \
    --shell /usr/sbin/nologin sshd
usermod -p '*' root
cat > /etc/ssh/sshd_config
/usr/sbin/sshd -t
"""


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, text=True, timeout=60)


@dataclass(frozen=True)
class SshLab:
    """A booted lab with an sshd, and everything a client needs to reach it."""

    lab: Lab
    address: str
    user: str
    key_path: Path
    known_hosts_path: Path
    client_netns: str
    port: int = 22

    @property
    def destination(self) -> str:
        """``user@address``, as ssh and ``staydown --host`` take it."""
        return f"{self.user}@{self.address}"

    def ssh_options(self) -> list[str]:
        """The ``-o`` options (without ``-o``) that reach this lab and no other host."""
        return [
            f"IdentityFile={self.key_path}",
            "IdentitiesOnly=yes",
            f"UserKnownHostsFile={self.known_hosts_path}",
            "StrictHostKeyChecking=yes",
            "BatchMode=yes",
        ]

    def ssh_arguments(self) -> list[str]:
        """Arguments for ssh or scp: ``-F /dev/null`` and every option as ``-o``."""
        return ["-F", "/dev/null", *(a for o in self.ssh_options() for a in ("-o", o))]

    def ansible_host_vars(self) -> dict[str, str]:
        """Inventory variables that reach this lab the same way (for ansible-playbook run
        with :meth:`client`; written for the fleet tests, not exercised here)."""
        common = " ".join(["-F", "/dev/null", *(f"-o {o}" for o in self.ssh_options()
                                                  if not o.startswith("IdentityFile="))])
        return {
            "ansible_host": self.address,
            "ansible_port": str(self.port),
            "ansible_user": self.user,
            "ansible_ssh_private_key_file": str(self.key_path),
            "ansible_ssh_common_args": common,
        }

    def client(self, argv: list[str]) -> list[str]:
        """``argv`` run in the client namespace, the only place the lab is reachable."""
        return ["ip", "netns", "exec", self.client_netns, *argv]

    def run(self, argv: list[str], timeout: float = 120,
            input_text: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run a command in the client namespace and capture its output."""
        return subprocess.run(self.client(argv), capture_output=True, text=True,
                              timeout=timeout, check=False, input=input_text)

    def ssh(self, command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a shell command on the lab over ssh."""
        return self.run(["ssh", *self.ssh_arguments(), self.destination, command], timeout)

    def staydown_argv(self, *args: str) -> list[str]:
        """A staydown command line (run in the client namespace) aimed at this lab."""
        options = [a for o in self.ssh_options() for a in ("--ssh-option", o)]
        command, *rest = args
        return self.client([sys.executable, "-m", "wizard", command, "--host",
                            self.destination, *options, *rest])

    def staydown(self, *args: str, timeout: float = 120,
                 cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run staydown COMMAND --host THIS_LAB ARGS... in the client namespace."""
        return subprocess.run(self.staydown_argv(*args), capture_output=True, text=True,
                              timeout=timeout, check=False, cwd=cwd)

    def authorize(self, user: str) -> SshLab:
        """Let ``user`` (who must exist in the lab) in with the same key; that user's SshLab."""
        home = self.lab.exec(["sh", "-c", f"getent passwd {user} | cut -d: -f6"],
                             check=True).stdout.strip()
        key = self.key_path.with_suffix(".pub").read_text()
        self.lab.exec(["sh", "-c", f'mkdir -p "{home}/.ssh" && cat > "{home}/.ssh/'
                       f'authorized_keys" && chown -R {user}: "{home}/.ssh" && '
                       f'chmod 700 "{home}/.ssh" && chmod 600 "{home}/.ssh/authorized_keys"'],
                      check=True, input_text=key)
        self.lab.exec(["usermod", "-p", "*", user], check=True)
        return SshLab(self.lab, self.address, user, self.key_path, self.known_hosts_path,
                      self.client_netns, self.port)


class SshNetwork:
    """A client network namespace and the labs wired to it; everything goes at exit."""

    def __init__(self) -> None:
        serial = next(_networks)
        self.client_netns = f"staydown-c{os.getpid()}-{serial}"
        self._prefix = f"staydown-l{os.getpid()}-{serial}"
        self._keys = Path(tempfile.mkdtemp(prefix="staydown-sshkeys-"))
        self.key_path = self._keys / "id_ed25519"
        self.known_hosts_path = self._keys / "known_hosts"
        self.labs: list[SshLab] = []
        self._namespaces: list[str] = []

    def __enter__(self) -> SshNetwork:
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "staydown-test",
             "-f", str(self.key_path))
        self.known_hosts_path.touch()
        _run("ip", "netns", "add", self.client_netns)
        self._namespaces.append(self.client_netns)
        _run("ip", "-n", self.client_netns, "link", "set", "lo", "up")
        return self

    def boot(self, scenario: str | lab_module.Scenario = "article",
             name: str | None = None) -> SshLab:
        """Boot a lab in a namespace of its own, start its sshd, return how to reach it."""
        index = len(self.labs)
        if index >= 63:
            raise RuntimeError("one SshNetwork holds at most 63 labs (/30s of one /24)")
        lab_netns = f"{self._prefix}-{index}"
        client_if = f"sdc{os.getpid() % 1000}n{index}"[:15]
        client_address, lab_address = f"{SUBNET}.{4 * index + 1}", f"{SUBNET}.{4 * index + 2}"
        _run("ip", "netns", "add", lab_netns)
        self._namespaces.append(lab_netns)
        # Made inside the client namespace, the peer moved straight into the lab's:
        # no interface ever exists in the host's namespace.
        _run("ip", "-n", self.client_netns, "link", "add", client_if, "type", "veth",
             "peer", "name", "host0", "netns", lab_netns)
        _run("ip", "-n", self.client_netns, "addr", "add", f"{client_address}/30",
             "dev", client_if)
        _run("ip", "-n", self.client_netns, "link", "set", client_if, "up")
        _run("ip", "-n", lab_netns, "addr", "add", f"{lab_address}/30", "dev", "host0")
        _run("ip", "-n", lab_netns, "link", "set", "host0", "up")
        _run("ip", "-n", lab_netns, "link", "set", "lo", "up")
        lab_name = name or f"s{os.getpid()}-{self.client_netns.rpartition('-')[2]}-{index}"
        lab = lab_module.up(scenario, lab_name, network_namespace=f"/run/netns/{lab_netns}")
        try:
            self._start_sshd(lab, lab_address)
        except BaseException:
            lab_module.down(lab.name)
            raise
        remote = SshLab(lab, lab_address, "root", self.key_path, self.known_hosts_path,
                        self.client_netns)
        self.labs.append(remote)
        return remote

    def _start_sshd(self, lab: Lab, address: str) -> None:
        lab.exec(["sh", "-c", _SSHD_SETUP], check=True,
                 input_text=_SSHD_CONFIG.format(address=address))
        lab.exec(["sh", "-c", "mkdir -p -m 700 /root/.ssh && cat > /root/.ssh/authorized_keys"
                  " && chmod 600 /root/.ssh/authorized_keys"], check=True,
                 input_text=self.key_path.with_suffix(".pub").read_text())
        # A transient unit of the lab's systemd: it ends with the lab.
        lab.exec(["systemd-run", "--unit=staydown-sshd", "/usr/sbin/sshd", "-D", "-e"],
                 check=True)
        host_key = lab.exec(["cat", "/etc/ssh/ssh_host_ed25519_key.pub"], check=True).stdout
        kind, key = host_key.split()[:2]
        with self.known_hosts_path.open("a") as known:
            known.write(f"{address} {kind} {key}\n")
        probe = SshLab(lab, address, "root", self.key_path, self.known_hosts_path,
                       self.client_netns)
        deadline = time.monotonic() + 20
        while True:
            done = probe.ssh("true", timeout=20)
            if done.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"sshd in lab {lab.name} never answered: {done.stderr}")
            time.sleep(0.2)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        for remote in self.labs:
            lab_module.down(remote.lab.name)
        for namespace in reversed(self._namespaces):
            # Deleting a namespace destroys its veth ends with it.
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True, check=False)
        shutil.rmtree(self._keys, ignore_errors=True)
