import sys

from weightline.cli import main

sys.exit(main())
