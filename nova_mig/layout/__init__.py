"""Declarative MIG and vGPU layouts: validate, plan, apply, export, restore."""
