# SPDX-License-Identifier: Apache-2.0

"""Exceptions raised by nova-mig.

Every error an operator can meet is a subclass of :class:`NovaMigException`
whose message names what is wrong and, where it helps, what to do.
"""

import re
import typing

#: The operating system's words inside a connection error's text
#: ("[Errno 111] Connection refused", "[Errno -2] Name or service not
#: known").
_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\"()\[\]]+)")
#: The socket's error inside urllib3's "Connection aborted." tuple:
#: ``ConnectionResetError(104, 'Connection reset by peer')``.
_OSERROR = re.compile(r"\w+Error\(-?\d+, '([^']+)'\)")


def short_reason(error: BaseException) -> str:
    """Why a connection failed, in a few words, without library internals.

    keystoneauth, openstacksdk and requests wrap urllib3's errors, whose
    text is the repr of a connection pool and of the socket's exception
    (several hundred characters). The operating system's reason is kept
    ("Connection refused", "Name or service not known"), a TLS
    verification failure and a timeout are named as such, and anything
    else is cut to its first line before the pool's repr.
    """
    text = str(error) or type(error).__name__
    name = type(error).__name__
    if 'CERTIFICATE_VERIFY_FAILED' in text:
        return 'its TLS certificate is not trusted'
    if name == 'SSLError' or 'SSL' in name:
        return 'the TLS handshake failed'
    if 'Timeout' in name or 'timed out' in text:
        return 'timed out'
    match = _ERRNO.search(text) or _OSERROR.search(text)
    if match:
        return match.group(1).strip().rstrip('.')
    for marker in (': HTTPConnectionPool', ': HTTPSConnectionPool',
                   ' (Caused by '):
        text = text.split(marker, 1)[0]
    return (text.splitlines() or [name])[0].strip().rstrip('.')


#: The first URL of a connection error's text: the one tried.
_URL = re.compile(r"https?://[^\s/'\":]+(?::\d+)?[^\s'\":]*")


def url_reason(error: BaseException) -> str:
    """``<URL tried>: <short reason>``; the reason alone without a URL."""
    reason = short_reason(error)
    match = _URL.search(str(error))
    if match and match.group(0) not in reason:
        return '%s: %s' % (match.group(0), reason)
    return reason


def tls_hint(reason: str, option: str) -> str:
    """``; for a private CA set <option>`` after a TLS failure, else ''."""
    return ('; for a private CA set %s' % option
            if reason.startswith('its TLS certificate') else '')


class NovaMigException(Exception):
    """Base class: formats ``msg_fmt`` with the keyword arguments given."""

    msg_fmt = "An unknown error occurred."

    def __init__(self, message: str | None = None,
                 **kwargs: typing.Any) -> None:
        self.kwargs = kwargs
        if not message:
            try:
                message = self.msg_fmt % kwargs
            except (KeyError, TypeError):
                # A programming error in the caller; keep the template so the
                # operator still sees something meaningful.
                message = self.msg_fmt
        self.message = message
        super().__init__(message)


class ConfigError(NovaMigException):
    msg_fmt = "Invalid configuration: %(reason)s"


class BackendNotFound(NovaMigException):
    msg_fmt = ("GPU backend %(name)r is not installed; available backends: "
               "%(available)s. Set [gpu]backend to one of them.")


class BackendLoadFailed(NovaMigException):
    msg_fmt = ("GPU backend %(name)r could not be loaded: %(reason)s. Check "
               "that its Python dependencies are installed.")


class NvmlUnavailable(NovaMigException):
    msg_fmt = ("NVML is not usable on this host: %(reason)s. Install the "
               "NVIDIA driver (libnvidia-ml.so.1) or select the simulated "
               "backend with [gpu]backend = simulated.")


class NvmlError(NovaMigException):
    msg_fmt = "NVML call %(call)s failed on GPU %(gpu)s: %(reason)s"


class SysfsError(NovaMigException):
    msg_fmt = "Cannot read %(path)s: %(reason)s"


class SysfsWriteError(NovaMigException):
    msg_fmt = "Writing %(value)r to %(path)s failed: %(reason)s"


class LibvirtError(NovaMigException):
    msg_fmt = ("libvirt at %(uri)s is unreachable or failed: %(reason)s. "
               "Check that libvirtd is running and [libvirt]connection_uri.")


class GpuNotFound(NovaMigException):
    msg_fmt = "No GPU matches %(selector)s on this host."


class InvalidLayout(NovaMigException):
    msg_fmt = "%(reason)s"


class GpuOperationRefused(NovaMigException):
    """The card (or NVML) refused an operation.

    ``code`` carries NVML's name for the refusal (``INSUFFICIENT_RESOURCES``,
    ``IN_USE``, ``NOT_SUPPORTED``, ``NO_PERMISSION``, ``INVALID_ARGUMENT``,
    ``NOT_FOUND``) so callers can react to the reason, whichever backend
    raised it.
    """

    msg_fmt = "GPU %(gpu)s refused to %(operation)s: %(reason)s (%(code)s)"

    @property
    def code(self) -> str:
        return str(self.kwargs.get('code', 'UNKNOWN'))


class PlacementUnreachable(NovaMigException):
    msg_fmt = ("Placement at %(url)s is unreachable: %(reason)s. Check "
               "[placement]endpoint_override, valid_interfaces and "
               "region_name, and that the placement service runs%(hint)s.")

    def __init__(self, message: str | None = None,
                 **kwargs: typing.Any) -> None:
        kwargs.setdefault('hint', tls_hint(str(kwargs.get('reason', '')),
                                           '[placement]cafile'))
        super().__init__(message, **kwargs)


class IdentityUnreachable(NovaMigException):
    msg_fmt = ("Keystone at %(url)s is unreachable: %(reason)s. Check "
               "%(option)s and that the identity service runs%(hint)s.")

    def __init__(self, message: str | None = None,
                 **kwargs: typing.Any) -> None:
        kwargs.setdefault('option', '[placement]auth_url')
        kwargs.setdefault('hint', tls_hint(str(kwargs.get('reason', '')),
                                           '[placement]cafile'))
        super().__init__(message, **kwargs)


class IdentityError(NovaMigException):
    msg_fmt = ("Keystone at %(url)s failed to issue a token: %(reason)s. "
               "Check the identity service's logs.")


class PlacementAuthError(NovaMigException):
    msg_fmt = ("Placement at %(url)s refused the credentials (%(reason)s). "
               "Check [%(group)s]auth_type, auth_url, username, "
               "project_name, user_domain_name and project_domain_name; the "
               "user needs the admin role.")

    def __init__(self, message: str | None = None,
                 **kwargs: typing.Any) -> None:
        # The section holding the credentials: nova.conf's auth_section.
        kwargs.setdefault('group', 'placement')
        super().__init__(message, **kwargs)


class PlacementError(NovaMigException):
    msg_fmt = ("Placement %(method)s %(path)s failed with HTTP %(status)s: "
               "%(title)s%(detail)s")

    @property
    def status(self) -> int | None:
        return self.kwargs.get('status')

    @property
    def code(self) -> str | None:
        """Placement's error code (microversion >= 1.23), if any."""
        return self.kwargs.get('code')


class PlacementGenerationConflict(PlacementError):
    """A write lost a race: the provider's generation changed."""


class PlacementConflictRetriesExhausted(NovaMigException):
    msg_fmt = ("Resource provider %(provider)s kept changing while its "
               "traits were written (%(attempts)d attempts, each lost to a "
               "concurrent update). Run the command again; raise "
               "[placement_sync]max_attempts if this host is busy.")


class PlacementProviderNotFound(NovaMigException):
    msg_fmt = ("Placement has no compute node resource provider named "
               "%(name)r. Start nova-compute on this host first, or set "
               "[placement_sync]hypervisor_hostname to the name nova-compute "
               "reports (openstack hypervisor list).")


class NoVgpuParents(NovaMigException):
    msg_fmt = ("No vGPU parent found on host %(host)s (%(where)s): "
               "%(reason)s")


class NoVgpuTypeForProfile(NovaMigException):
    msg_fmt = ("GPU %(gpu)s (%(model)s) has GPU instances of MIG profile "
               "%(profile)s but its vGPU parent %(parent)s offers no vGPU "
               "type backed by it (offered: %(offered)s). Use a vGPU "
               "driver that supports the profile or change the MIG "
               "geometry.")


class ProfileNotKnown(NovaMigException):
    msg_fmt = "Refusing to guess: %(reason)s."


class NovaConfigRuleViolation(NovaMigException):
    msg_fmt = ("The generated Nova configuration breaks a rule of Nova: "
               "%(reason)s. Nothing was written.")


class NovaConfigWriteError(NovaMigException):
    msg_fmt = "Cannot write %(path)s: %(reason)s"


class OutputWriteError(NovaMigException):
    msg_fmt = "%(path)s: cannot write: %(reason)s"


class NothingToConfigure(NovaMigException):
    msg_fmt = ("No vGPU parent of host %(host)s can be offered to Nova: "
               "%(reason)s")


class HostLocked(NovaMigException):
    msg_fmt = ("Another nova-mig run holds the host lock %(path)s (layout "
               "apply, boot restore or reap). Wait for it to finish and try "
               "again.")


class WorkflowLocked(NovaMigException):
    msg_fmt = ("Another nova-mig command changes this host and holds the "
               "workflow lock %(path)s (layout apply, layout restore, "
               "retype, rebalance apply or reap --apply); try again when it "
               "has finished.")


class StateFileError(NovaMigException):
    msg_fmt = ("%(path)s: %(reason)s; nova-mig refuses this state file. "
               "Restore it from a backup, or move it aside (mv %(path)s "
               "%(path)s.bad); nova-mig then treats every device as "
               "foreign.")


class StateWriteError(NovaMigException):
    msg_fmt = ("Cannot write nova-mig state file %(path)s: %(reason)s; "
               "%(consequence)s")


class TargetInUse(NovaMigException):
    msg_fmt = ("%(target)s is in use: %(users)s (seen at %(seen)s"
               "%(since)s); it was left alone. Run the command again once "
               "it is free")


class ComputeServiceEnabled(NovaMigException):
    msg_fmt = ("The nova-compute service of host %(host)s is %(state)s in "
               "the Compute API; refusing to remove devices while the "
               "scheduler may place instances here. Disable it first "
               "(openstack compute service set --disable %(host)s "
               "nova-compute), or pass --force-with-enabled-service.")


class ComputeApiError(NovaMigException):
    msg_fmt = ("Compute API call %(call)s for host %(host)s failed: "
               "%(reason)s. Check the [placement] credentials (the user "
               "needs the admin role) and [reaper]compute_endpoint_override.")


class ComputeServiceNotFound(NovaMigException):
    msg_fmt = ("The Compute API has no nova-compute service on host "
               "%(host)s. Set [reaper]compute_service_host to the host "
               "name \"openstack compute service list\" shows.")


class ReaperJournalError(NovaMigException):
    msg_fmt = "Reaper journal %(path)s: %(reason)s"


class ReaperQueueError(NovaMigException):
    msg_fmt = "Reaper queue %(path)s: %(reason)s"


class RetypeStepFailed(NovaMigException):
    msg_fmt = ("retype stopped at step %(step)s: %(reason)s. %(state)s "
               "Resume with: %(resume)s")


class RetypeStateError(NovaMigException):
    msg_fmt = "retype state file %(path)s: %(reason)s"


class LayoutFileError(InvalidLayout):
    msg_fmt = "%(path)s: %(where)s: %(reason)s"


class LayoutValidationFailed(InvalidLayout):
    """The layout cannot be applied to this host; nothing was changed."""

    msg_fmt = ("The layout %(path)s cannot be applied to host %(host)s; "
               "nothing was changed:\n%(errors)s")

    @property
    def errors(self) -> list[str]:
        return list(self.kwargs.get('error_list', []))


class CheckpointError(NovaMigException):
    msg_fmt = ("%(path)s: %(reason)s; this layout checkpoint is refused. Run "
               "\"nova-mig layout apply\" with the host's layout file to "
               "write a new one")


class MigPartedError(InvalidLayout):
    msg_fmt = "%(path)s: %(reason)s"


class NotMigProfile(NovaMigException):
    msg_fmt = ("%(profile)r is not a MIG profile name; expected "
               "<slices>g.<memory>gb with an optional +me, +me.all, -me or "
               "+gfx suffix, such as 1g.10gb or 1g.10gb+me.")


class ProfileNotOffered(NovaMigException):
    msg_fmt = ("MIG profile %(profile)s is not known to this cloud's "
               "Placement (no %(name)s). Known profiles: %(known)s.")


class FlavorNotManaged(NovaMigException):
    msg_fmt = ("Flavor %(name)s (%(id)s) exists and was not created by "
               "nova-mig (no %(mark)s extra spec); refusing to change it. "
               "Choose another flavor name, or pass --force to let "
               "nova-mig take it over.")


class FlavorSizeMismatch(NovaMigException):
    msg_fmt = ("Flavor %(name)s (%(id)s) exists with %(have)s, not "
               "%(want)s, and Nova cannot change a flavor's sizes or ID. "
               "Delete it or choose another flavor name.")


class FlavorProfileMismatch(NovaMigException):
    msg_fmt = ("Flavor %(name)s (%(id)s) already asks for MIG profile "
               "%(have)s, not %(want)s. Choose another flavor name, or "
               "pass --force to change it.")


class LiveMigrationUnsupported(NovaMigException):
    msg_fmt = ("A live-migratable flavor of profile %(profile)s cannot be "
               "made: %(reason)s")


class UnknownTraits(NovaMigException):
    msg_fmt = ("Placement has no trait %(traits)s, so no host could ever "
               "match the flavor. Known GPU traits: %(known)s.")


class FlavorExists(NovaMigException):
    msg_fmt = ("Flavor %(name)s (%(id)s) exists; refusing to create it "
               "again. Pass --or-update to update its MIG extra specs (the "
               "others are kept), or choose another flavor name.")


class FlavorNotFound(NovaMigException):
    msg_fmt = "No flavor named or with the ID %(flavor)s."


class FlavorAmbiguous(NovaMigException):
    msg_fmt = ("%(count)d flavors are named %(flavor)s (IDs %(ids)s); name "
               "one by its ID.")


class ComputeApiMissing(NovaMigException):
    msg_fmt = ("The cloud has no Compute API (Nova) for %(action)s: the "
               "catalog or endpoint in use (%(where)s) offers none, as an "
               "embedded Placement does not. Flavors need a cloud with "
               "Nova.")


class AdminRequired(NovaMigException):
    msg_fmt = ("%(service)s refused %(action)s (HTTP 403): admin rights are "
               "needed. Run the command as a user with the admin role.")


class CloudUnreachable(NovaMigException):
    msg_fmt = ("%(service)s is unreachable or rejected the credentials "
               "during %(action)s: %(reason)s. Check the cloud's catalog "
               "(openstack catalog list), clouds.yaml or OS_* variables.")


class ComputeRequestFailed(NovaMigException):
    msg_fmt = "Nova refused %(action)s (HTTP %(status)s): %(reason)s"


class HookRestoreFailed(NovaMigException):
    msg_fmt = ("The layout restore failed (%(reason)s): nova-compute must not "
               "start with a partial GPU geometry. Fix the GPU named above "
               "and run \"nova-mig hook pre-start\" (or \"nova-mig layout "
               "restore\") again.")


class HookProvidersTimeout(NovaMigException):
    msg_fmt = ("Gave up after %(timeout)ss waiting for nova-compute's "
               "resource providers in Placement: %(missing)s. Check that "
               "nova-compute runs and is configured with the vGPU types of "
               "this host (nova-mig nova-config), that [nova]"
               "hypervisor_hostname is the name it reports, then run "
               "\"nova-mig sync\"; raise [hook]provider_timeout on slow "
               "hosts.")


class InstallUnitsError(NovaMigException):
    msg_fmt = "Cannot install nova-mig's host files: %(reason)s"


class NovaReleaseUnsupported(NovaMigException):
    msg_fmt = ("%(what)s needs Nova %(needed)s or later; this host targets "
               "Nova %(release)s (%(source)s). %(fix)s")


class RebalanceInputError(NovaMigException):
    msg_fmt = "%(path)s: %(where)s: %(reason)s"


class RebalanceSolverFailed(NovaMigException):
    msg_fmt = ("The rebalance planner's solver found no plan (%(reason)s); "
               "nothing was changed.")


class PrivsepStartFailed(NovaMigException):
    msg_fmt = ("Cannot start nova-mig's privileged helper (%(command)s): "
               "%(reason)s. %(fix)s")


class GpuDrainStopped(NovaMigException):
    msg_fmt = "Per-GPU drain stopped at %(step)s: %(reason)s. %(state)s"


class DrainJournalError(NovaMigException):
    msg_fmt = "Drain journal %(path)s: %(reason)s"


class PlacementNotConfigured(NovaMigException):
    msg_fmt = ("Placement is not configured: [placement] has no auth_type, "
               "auth_section or endpoint_override (read: %(files)s). Copy "
               "the [placement] section of nova.conf into nova-mig.conf, or "
               "add --config-file /etc/nova/nova.conf; for the simulated "
               "demo only, set [placement_sync]embedded = true.")


class PlacementAuthSectionEmpty(PlacementNotConfigured):
    msg_fmt = ("Placement is not configured: [placement]auth_section = "
               "%(section)s, but [%(section)s] has no auth_type (read: "
               "%(files)s). Copy that section of nova.conf too, or add "
               "--config-file /etc/nova/nova.conf.")


class PlacementNoAuthType(PlacementNotConfigured):
    msg_fmt = ("Placement is not configured: [placement] has no auth_type "
               "(read: %(files)s); endpoint_override only chooses the URL. "
               "Set auth_type = password with auth_url, username, password "
               "and project_name (a user with the admin role) as in "
               "nova.conf, or auth_type = admin_token with endpoint and "
               "token for a Placement that runs without Keystone.")


class RebalanceExtraMissing(NovaMigException):
    msg_fmt = ("The rebalance planner needs SciPy, which is not installed "
               "(%(reason)s): pip install 'nova-mig[%(extra)s]' on the host "
               "that plans (an admin workstation, not a compute host).")


class EmbeddedPlacementUnavailable(NovaMigException):
    msg_fmt = ("[placement_sync]embedded = true, but the embedded Placement "
               "cannot be loaded (%(reason)s). Install it with pip install "
               "'nova-mig[embedded]', or configure [placement] for the "
               "cloud's Placement.")
