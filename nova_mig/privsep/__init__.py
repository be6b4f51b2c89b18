"""Privilege separation context for nova-mig's root-only operations."""

from oslo_privsep import capabilities
from oslo_privsep import priv_context

#: Context of every privileged nova-mig entrypoint: MIG changes through NVML
#: and sysfs writes.  Configured by the ``[nova_mig_privsep]`` section.
sys_admin_pctxt = priv_context.PrivContext(
    'nova_mig',
    cfg_section='nova_mig_privsep',
    pypath=__name__ + '.sys_admin_pctxt',
    capabilities=[capabilities.CAP_SYS_ADMIN,
                  capabilities.CAP_DAC_OVERRIDE,
                  capabilities.CAP_DAC_READ_SEARCH],
)
