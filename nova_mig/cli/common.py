"""Shared pieces of the nova-mig commands."""

from cliff import command
from cliff import show

from nova_mig import exception
from nova_mig import gpu


class ErrorReporting:
    """Turn nova-mig errors into one clear line and a non-zero exit.

    Without ``--debug`` an operator sees ``nova-mig: error: <what and
    where>``; with it, the traceback too.
    """

    def run(self, parsed_args):
        try:
            return super().run(parsed_args)
        except exception.NovaMigException as e:
            if self.app_args.debug:
                raise
            self.app.stderr.write('nova-mig: error: %s\n' % e)
            return e.exit_code

    @property
    def conf(self):
        return self.app.conf

    def backend(self):
        """The GPU backend chosen by ``[gpu]backend``."""
        return gpu.load_backend(self.conf)


class Command(ErrorReporting, command.Command):
    """A nova-mig command that acts."""


class ShowOne(ErrorReporting, show.ShowOne):
    """A nova-mig command that shows one object."""
