// The mount itself arrives with issue 3; until then the executable only says so.
import Foundation
import SnapshotFS

FileHandle.standardError.write(Data("vostmount: the mount is not built yet\n".utf8))
exit(2)
