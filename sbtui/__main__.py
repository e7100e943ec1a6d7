from sbtui.cli import main

raise SystemExit(main())
