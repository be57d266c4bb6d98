from graphmoe.cli import main

raise SystemExit(main())
