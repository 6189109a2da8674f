from writeback.cli import main

main()
