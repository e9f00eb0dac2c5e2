#!/usr/bin/env python
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    from config.startup import exit_with

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as error:
        exit_with(error)


if __name__ == "__main__":
    main()
