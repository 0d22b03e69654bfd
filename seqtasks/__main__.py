import sys

from seqtasks.cli import main

sys.exit(main())
