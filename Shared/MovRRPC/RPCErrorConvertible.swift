/// An error of a service's domain that knows its JSON-RPC answer.
///
/// Domain code (stores, flows) throws errors named for what happened (`usernameTaken`,
/// `rideAlreadyEnded`); each service maps every one of them to an ``RPCError`` in one place, its
/// edge, by conforming here. The dispatcher answers a handler that throws one with that mapping,
/// so a given fault has the same code and reason whichever method meets it.
public protocol RPCErrorConvertible: Error {
    var rpcError: RPCError { get }
}
