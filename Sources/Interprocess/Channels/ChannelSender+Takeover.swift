extension SharedMemoryChannel.Sender {
    /// Where the records committed in `slot` end, walking from `start` (SPEC M5).
    ///
    /// A producer killed after a header (the commit) and before publishing its tail
    /// leaves committed records past the published tail: the receiver may be
    /// reading them, so a new producer that wrote from the published tail would
    /// overwrite them under it (and the two would then disagree on where records
    /// start). Killed between a record's header and the padding or wrap markers
    /// before it (written after it, last to first), it leaves a committed record
    /// the receiver cannot reach, whose header would still pass its check when a
    /// new producer's record reaches that position: the missing markers are written
    /// here, completing that commit. A header that checks out for its position was
    /// written for that position by this slot's producer, so this trusts nothing
    /// else; the walk stops at the first position with no committed record, and
    /// never goes a ring's length past the receiver's head.
    static func committedEnd(_ slot: ChannelSlot, from start: UInt64, head: UInt64, capacity: UInt64, maximum: Int) -> UInt64 {
        var tail = start
        while tail - head < capacity {
            let offset = tail & (capacity - 1)
            if let length = ChannelRecord.length(slot.loadHeader(at: offset), at: tail) {
                guard let size = recordSpan(length, at: offset, capacity: capacity, maximum: maximum) else { return tail }
                tail += size
                continue
            }
            // A record committed after padding whose marker is missing.
            let pad = ChannelRecord.padding(at: offset)
            if pad != 0, isAlignedRecord(slot, at: tail + pad, capacity: capacity, maximum: maximum) {
                slot.storeHeader(ChannelRecord.header(length: ChannelRecord.padMarker, at: tail), at: offset)
                continue
            }
            // A record (or padding) committed at the ring's start whose wrap marker is missing.
            guard offset != 0 else { return tail }
            let next = tail + capacity - offset
            if let length = ChannelRecord.length(slot.loadHeader(at: 0), at: next),
               length == ChannelRecord.padMarker || recordSpan(length, at: 0, capacity: capacity, maximum: maximum) != nil {
                slot.storeHeader(ChannelRecord.header(length: ChannelRecord.wrapMarker, at: tail), at: offset)
                continue
            }
            let padAtStart = ChannelRecord.padding(at: 0)
            if isAlignedRecord(slot, at: next + padAtStart, capacity: capacity, maximum: maximum) {
                slot.storeHeader(ChannelRecord.header(length: ChannelRecord.padMarker, at: next), at: 0)
                slot.storeHeader(ChannelRecord.header(length: ChannelRecord.wrapMarker, at: tail), at: offset)
                continue
            }
            return tail
        }
        return tail
    }

    /// The bytes a committed header of `length` at ring `offset` moves the stream
    /// on (a record, or a wrap or padding marker); nil when it could not be one.
    private static func recordSpan(_ length: UInt32, at offset: UInt64, capacity: UInt64, maximum: Int) -> UInt64? {
        switch length {
        case ChannelRecord.wrapMarker:
            return offset == 0 ? nil : capacity - offset
        case ChannelRecord.padMarker:
            let pad = ChannelRecord.padding(at: offset)
            return pad == 0 ? nil : pad
        default:
            let size = UInt64(ChannelRecord.size(length: Int(length)))
            return Int(length) <= maximum && offset + size <= capacity ? size : nil
        }
    }

    /// Whether a committed record that padding leads to is at stream `position`.
    private static func isAlignedRecord(_ slot: ChannelSlot, at position: UInt64, capacity: UInt64, maximum: Int) -> Bool {
        let offset = position & (capacity - 1)
        guard let length = ChannelRecord.length(slot.loadHeader(at: offset), at: position),
              Int(length) >= ChannelRecord.alignedFrom, length < ChannelRecord.padMarker else { return false }
        return recordSpan(length, at: offset, capacity: capacity, maximum: maximum) != nil
    }
}
